import { compileNumberSet, type NumberSet } from './attestation.js';

/**
 * Do-not-originate (47 CFR 64.1200(o): a provider may block calls purporting to come from numbers on a
 * do-not-originate list: inbound-only numbers, unallocated and unassigned ranges). The list is a text file
 * of one E.164 number or prefix (`1800555*`) per line, `#` starting a comment; the calling number of a
 * customer's call is refused when it is in the list. Parsing is pure; the file is read by src/app/.
 */

export interface DnoLineProblem {
  /** 1-based. */
  readonly line: number;
  readonly message: string;
}

export interface DnoList {
  /** Canonical entries: digits, or digits followed by `*`. */
  readonly entries: readonly string[];
  readonly problems: readonly DnoLineProblem[];
}

// ITU-T E.164 §6: at most 15 digits; a prefix is shorter than a number.
const NUMBER = /^\+?([0-9]{1,15})$/;
const PREFIX = /^\+?([0-9]{1,14})\*$/;

/** Read the text of a DNO file: every bad line is a problem, the good ones are entries. */
export function parseDnoList(text: string): DnoList {
  const entries: string[] = [];
  const problems: DnoLineProblem[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const hash = lines[i]!.indexOf('#');
    const e = (hash >= 0 ? lines[i]!.slice(0, hash) : lines[i]!).trim();
    if (e === '') continue;
    const n = NUMBER.exec(e);
    if (n !== null) {
      entries.push(n[1]!);
      continue;
    }
    const p = PREFIX.exec(e);
    if (p !== null) {
      entries.push(`${p[1]}*`);
      continue;
    }
    problems.push({
      line: i + 1,
      message: `${JSON.stringify(e)} is not an E.164 number (12025550100) or prefix (1202555*)`,
    });
  }
  return { entries, problems };
}

/** The set the admission decision looks calling numbers up in. */
export function compileDno(entries: readonly string[]): NumberSet {
  return compileNumberSet(entries);
}

/** The DNO entry that holds canonical calling number `tn`, or undefined. */
export function dnoEntry(tn: string | undefined, dno: NumberSet): string | undefined {
  return tn === undefined ? undefined : dno.match(tn);
}

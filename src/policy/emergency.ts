/**
 * Emergency calls (issue 17: "never refused by any limit or block"). 47 CFR 9.4-9.5 (US 911, 933 its test
 * number), ETSI EN 300 055 / EU Directive 2018/1972 Art. 109 (112), UK 999: a call to an emergency
 * number must be completed whatever the caller's standing. The numbers are short codes dialled as is
 * (`911`), or reached through the country code (`+1911`, canonical `1911`); both match.
 */

/** Configured emergency short codes (digits), compiled once. */
export interface EmergencyNumbers {
  readonly codes: ReadonlySet<string>;
  /** Longest code: a number longer than it plus a country code cannot be one. */
  readonly maxLength: number;
}

export function compileEmergencyNumbers(codes: readonly string[]): EmergencyNumbers {
  return { codes: new Set(codes), maxLength: codes.reduce((m, c) => Math.max(m, c.length), 0) };
}

/**
 * Whether canonical called number `tn` (src/stir/tn.ts, with the trunk's country code) is an emergency
 * number: a code exactly as dialled, or `countryCode` followed by a code.
 */
export function isEmergencyNumber(
  tn: string | undefined,
  numbers: EmergencyNumbers,
  countryCode: string,
): boolean {
  if (tn === undefined || tn.length > numbers.maxLength + countryCode.length) return false;
  if (numbers.codes.has(tn)) return true;
  return countryCode !== '' && tn.startsWith(countryCode) && numbers.codes.has(tn.slice(countryCode.length));
}

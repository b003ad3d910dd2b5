import { canonicalName, firstHeaderValue, isMultiValue, splitHeaderValues } from './headers.js';
import {
  parseCSeq,
  parseMaxForwards,
  parseNameAddr,
  parseNameAddrList,
  parseUri,
  parseVia,
} from './parse-values.js';
import type { CSeq, NameAddr, SipHeader, Uri, Via } from './types.js';

/**
 * A SIP message (RFC 3261 §7). Headers are kept raw, in wire order; the hot ones are parsed on first
 * access and cached until that header is changed. The parser touches the hot accessors once to validate
 * them, so a message that reaches the transaction layer has them ready.
 */
const NOT_PARSED = -2;
const ABSENT = -1;
let prime: (m: SipMessage, parsed: ParsedHotHeaders) => void;

export abstract class SipMessage {
  readonly headers: SipHeader[];
  body: Buffer;
  /** Protocol version from the start line (`SIP/2.0`). */
  version = 'SIP/2.0';
  // Parsed hot headers; undefined = not parsed yet. Plain private fields, not a Map: these are read on
  // every message, so each read should be one field load.
  #via: Via[] | undefined;
  #from: NameAddr | undefined;
  #to: NameAddr | undefined;
  #callId: string | undefined;
  #cseq: CSeq | undefined;
  /** NOT_PARSED, ABSENT, or the value. */
  #maxForwards = NOT_PARSED;
  #contact: NameAddr[] | undefined;
  #route: NameAddr[] | undefined;
  #recordRoute: NameAddr[] | undefined;
  #pai: NameAddr[] | undefined;
  /** Anything else a subclass caches through `cached()`; created on first use. */
  #cache: Map<string, unknown> | undefined;

  constructor(headers: SipHeader[] = [], body: Buffer = EMPTY) {
    this.headers = headers;
    this.body = body;
  }

  static {
    prime = (m, parsed) => {
      m.#via = parsed.via;
      m.#from = parsed.from;
      m.#to = parsed.to;
      m.#callId = parsed.callId;
      m.#cseq = parsed.cseq;
      m.#maxForwards = parsed.maxForwards ?? ABSENT;
    };
  }

  abstract isRequest(): this is SipRequest;

  /** First value of a header (for multi-value headers, the first comma-separated element). */
  get(name: string): string | undefined {
    const n = canonicalName(name);
    const hs = this.headers;
    for (let i = 0; i < hs.length; i++) {
      const h = hs[i]!;
      if (h.name === n) return isMultiValue(n) ? firstHeaderValue(h.value) : h.value;
    }
    return undefined;
  }

  /** Every value of a header in order; comma-separated lists are split for multi-value headers. */
  getAll(name: string): string[] {
    const n = canonicalName(name);
    const out: string[] = [];
    const multi = isMultiValue(n);
    const hs = this.headers;
    for (let i = 0; i < hs.length; i++) {
      const h = hs[i]!;
      if (h.name !== n) continue;
      if (multi) for (const v of splitHeaderValues(h.value)) out.push(v);
      else out.push(h.value);
    }
    return out;
  }

  /** Number of header lines with this name (not split on commas). */
  count(name: string): number {
    const n = canonicalName(name);
    let c = 0;
    for (const h of this.headers) if (h.name === n) c++;
    return c;
  }

  has(name: string): boolean {
    const n = canonicalName(name);
    return this.headers.some((h) => h.name === n);
  }

  /** Replace every line of this header by one line holding `value`, at the first one's position (or the end). */
  set(name: string, value: string): this {
    const n = canonicalName(name);
    const i = this.headers.findIndex((h) => h.name === n);
    const line: SipHeader = { name: n, rawName: i >= 0 ? this.headers[i]!.rawName : displayName(n), value };
    this.remove(n);
    if (i >= 0) this.headers.splice(i, 0, line);
    else this.headers.push(line);
    return this;
  }

  /** Add a header line after the existing ones. */
  append(name: string, value: string): this {
    const n = canonicalName(name);
    this.headers.push({ name: n, rawName: displayName(n), value });
    this.#forget(n);
    return this;
  }

  /** Add a header line before the first line of the same name (or at the top) — e.g. a new Via. */
  prepend(name: string, value: string): this {
    const n = canonicalName(name);
    const i = this.headers.findIndex((h) => h.name === n);
    this.headers.splice(Math.max(i, 0), 0, { name: n, rawName: displayName(n), value });
    this.#forget(n);
    return this;
  }

  /** Remove every line of this header; returns how many were removed. */
  remove(name: string): number {
    const n = canonicalName(name);
    let removed = 0;
    for (let i = this.headers.length - 1; i >= 0; i--) {
      if (this.headers[i]!.name === n) {
        this.headers.splice(i, 1);
        removed++;
      }
    }
    this.#forget(n);
    return removed;
  }

  /** Remove the first value of a multi-value header (e.g. the top Via), keeping the others. */
  removeFirstValue(name: string): void {
    const n = canonicalName(name);
    const i = this.headers.findIndex((h) => h.name === n);
    if (i < 0) return;
    const values = splitHeaderValues(this.headers[i]!.value);
    if (values.length <= 1) this.headers.splice(i, 1);
    else this.headers[i] = { ...this.headers[i]!, value: values.slice(1).join(', ') };
    this.#forget(n);
  }

  protected cached<T>(key: string, make: () => T): T {
    let cache = this.#cache;
    if (cache === undefined) {
      cache = new Map<string, unknown>();
      this.#cache = cache;
    }
    if (cache.has(key)) return cache.get(key) as T;
    const v = make();
    cache.set(key, v);
    return v;
  }

  /** Drop the parsed form of one (canonical) header after an edit. */
  #forget(n: string): void {
    switch (n) {
      case 'via':
        this.#via = undefined;
        break;
      case 'from':
        this.#from = undefined;
        break;
      case 'to':
        this.#to = undefined;
        break;
      case 'call-id':
        this.#callId = undefined;
        break;
      case 'cseq':
        this.#cseq = undefined;
        break;
      case 'max-forwards':
        this.#maxForwards = NOT_PARSED;
        break;
      case 'contact':
        this.#contact = undefined;
        break;
      case 'route':
        this.#route = undefined;
        break;
      case 'record-route':
        this.#recordRoute = undefined;
        break;
      case 'p-asserted-identity':
        this.#pai = undefined;
        break;
      default:
        this.#cache?.delete(n);
    }
  }

  /** All Via values, top first (RFC 3261 §20.42). Throws SipParseError if malformed. */
  get via(): Via[] {
    let v = this.#via;
    if (v === undefined) {
      v = [];
      const hs = this.headers;
      for (let i = 0; i < hs.length; i++) {
        const h = hs[i]!;
        if (h.name !== 'via') continue;
        const value = h.value;
        if (value.indexOf(',') < 0) v.push(parseVia(value));
        else for (const part of splitHeaderValues(value)) v.push(parseVia(part));
      }
      this.#via = v;
    }
    return v;
  }

  get topVia(): Via | undefined {
    return this.via[0];
  }

  get from(): NameAddr {
    let v = this.#from;
    if (v === undefined) {
      v = parseNameAddr(this.required('from'));
      this.#from = v;
    }
    return v;
  }

  get to(): NameAddr {
    let v = this.#to;
    if (v === undefined) {
      v = parseNameAddr(this.required('to'));
      this.#to = v;
    }
    return v;
  }

  get callId(): string {
    let v = this.#callId;
    if (v === undefined) {
      v = this.required('call-id');
      this.#callId = v;
    }
    return v;
  }

  get cseq(): CSeq {
    let v = this.#cseq;
    if (v === undefined) {
      v = parseCSeq(this.required('cseq'));
      this.#cseq = v;
    }
    return v;
  }

  /** undefined when absent (RFC 2543 peers omit it). Throws SipParseError `bad_max_forwards` if malformed. */
  get maxForwards(): number | undefined {
    let mf = this.#maxForwards;
    if (mf === NOT_PARSED) {
      const v = this.get('max-forwards');
      mf = v === undefined ? ABSENT : parseMaxForwards(v);
      this.#maxForwards = mf;
    }
    return mf === ABSENT ? undefined : mf;
  }

  /** Content-Length, or the body length when the header is absent (UDP). */
  get contentLength(): number {
    const v = this.get('content-length');
    return v === undefined ? this.body.length : Number.parseInt(v, 10);
  }

  get contact(): NameAddr[] {
    let v = this.#contact;
    if (v === undefined) {
      v = this.#nameAddrs('contact');
      this.#contact = v;
    }
    return v;
  }

  get route(): NameAddr[] {
    let v = this.#route;
    if (v === undefined) {
      v = this.#nameAddrs('route');
      this.#route = v;
    }
    return v;
  }

  get recordRoute(): NameAddr[] {
    let v = this.#recordRoute;
    if (v === undefined) {
      v = this.#nameAddrs('record-route');
      this.#recordRoute = v;
    }
    return v;
  }

  /** RFC 3325 P-Asserted-Identity values (a sip/sips and/or a tel URI). */
  get pAssertedIdentity(): NameAddr[] {
    let v = this.#pai;
    if (v === undefined) {
      v = this.#nameAddrs('p-asserted-identity');
      this.#pai = v;
    }
    return v;
  }

  #nameAddrs(n: string): NameAddr[] {
    const out: NameAddr[] = [];
    const hs = this.headers;
    for (let i = 0; i < hs.length; i++) {
      const h = hs[i]!;
      if (h.name !== n) continue;
      for (const na of parseNameAddrList(h.value)) out.push(na);
    }
    return out;
  }

  protected required(name: string): string {
    const v = this.get(name);
    if (v === undefined) throw missingHeader(name);
    return v;
  }

  /** Forget parsed values (call after editing `headers` directly). */
  invalidate(): void {
    this.#via = undefined;
    this.#from = undefined;
    this.#to = undefined;
    this.#callId = undefined;
    this.#cseq = undefined;
    this.#maxForwards = NOT_PARSED;
    this.#contact = undefined;
    this.#route = undefined;
    this.#recordRoute = undefined;
    this.#pai = undefined;
    this.#cache = undefined;
  }
}

/** Hot headers the parser has already parsed and validated, handed over so accessors need not redo it. */
export interface ParsedHotHeaders {
  readonly via: Via[];
  readonly from: NameAddr;
  readonly to: NameAddr;
  readonly callId: string;
  readonly cseq: CSeq;
  readonly maxForwards: number | undefined;
}

/**
 * For parse.ts only (not part of the public API, not re-exported by index.ts): fill the accessor caches with
 * values parsed from this message's own header lines.
 */
export function primeHotHeaders(m: SipMessage, parsed: ParsedHotHeaders): void {
  prime(m, parsed);
}

export class SipRequest extends SipMessage {
  method: string;
  /** Request-URI text as on the wire. */
  uri: string;

  constructor(method: string, uri: string, headers: SipHeader[] = [], body: Buffer = EMPTY) {
    super(headers, body);
    this.method = method;
    this.uri = uri;
  }

  override isRequest(): this is SipRequest {
    return true;
  }

  #ruri: Uri | undefined;
  #ruriText: string | undefined;

  /** The parsed Request-URI; re-parsed when `uri` changes. Throws SipParseError `bad_uri`. */
  get requestUri(): Uri {
    if (this.#ruriText !== this.uri || this.#ruri === undefined) {
      this.#ruri = parseUri(this.uri);
      this.#ruriText = this.uri;
    }
    return this.#ruri;
  }

  override invalidate(): void {
    super.invalidate();
    this.#ruri = undefined;
  }
}

export class SipResponse extends SipMessage {
  status: number;
  reason: string;

  constructor(status: number, reason: string, headers: SipHeader[] = [], body: Buffer = EMPTY) {
    super(headers, body);
    this.status = status;
    this.reason = reason;
  }

  override isRequest(): this is SipRequest {
    return false;
  }
}

const EMPTY = Buffer.alloc(0);

import { SipParseError } from './errors.js';

function missingHeader(name: string): SipParseError {
  return new SipParseError('missing_header', `missing ${name} header`);
}

const DISPLAY_NAMES: Record<string, string> = {
  'call-id': 'Call-ID',
  cseq: 'CSeq',
  'www-authenticate': 'WWW-Authenticate',
  'p-asserted-identity': 'P-Asserted-Identity',
  'mime-version': 'MIME-Version',
  rack: 'RAck',
  rseq: 'RSeq',
};

/** Header name as we write it for headers we add (`max-forwards` -> `Max-Forwards`). */
export function displayName(canonical: string): string {
  let name = DISPLAY_NAMES[canonical] ?? displayCache.get(canonical);
  if (name === undefined) {
    name = canonical
      .split('-')
      .map((p) => (p.length > 0 ? p[0]!.toUpperCase() + p.slice(1) : p))
      .join('-');
    // Bounded: names we add come from code and config, but a relayed unknown header must not grow it forever.
    if (displayCache.size < 512) displayCache.set(canonical, name);
  }
  return name;
}

/** Spellings computed once per header name (the B2BUA adds the same few headers to every request). */
const displayCache = new Map<string, string>();

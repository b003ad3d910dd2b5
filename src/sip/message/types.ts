/**
 * The SIP message model shared by every layer (RFC 3261 §7, §20, §25).
 *
 * This file is the contract: parse.ts produces these shapes, serialize.ts writes them back,
 * transport/transaction/b2bua consume them. Keep it free of behaviour.
 */

/** Header or URI parameters. Names are lower-cased; a flag parameter (`;lr`) maps to `null`. Wire order kept. */
export type Params = Map<string, string | null>;

/** RFC 3261 §19.1 SIP and SIPS URI. */
export interface SipUri {
  readonly scheme: 'sip' | 'sips';
  /** User part exactly as on the wire (still %-escaped), including user-part parameters (`+1555;verstat=...`). */
  readonly user: string | undefined;
  readonly password: string | undefined;
  /** Host as on the wire; IPv6 references keep their brackets (`[2001:db8::1]`). Lower-cased. */
  readonly host: string;
  readonly port: number | undefined;
  /** uri-parameters (`;transport=tcp;lr;user=phone`). */
  readonly params: Params;
  /** Raw `?headers` part without the `?`, if any. */
  readonly headers: string | undefined;
  /** The URI text as it appeared. */
  readonly raw: string;
}

/** RFC 3966 tel URI. */
export interface TelUri {
  readonly scheme: 'tel';
  /** The telephone-subscriber number without parameters (`+1-202-555-1234`, visual separators kept). */
  readonly number: string;
  /** Parameters after the number (`;npdi;rn=...;verstat=...`). */
  readonly params: Params;
  readonly raw: string;
}

/** Any other absoluteURI (RFC 3261 §25.1); kept verbatim. */
export interface OtherUri {
  readonly scheme: string;
  readonly raw: string;
}

export type Uri = SipUri | TelUri | OtherUri;

/** name-addr / addr-spec with header parameters (From, To, Contact, Route, P-Asserted-Identity ...). */
export interface NameAddr {
  /** Display name unquoted and unescaped, or undefined. */
  readonly displayName: string | undefined;
  readonly uri: Uri;
  /** Header parameters after the URI (tag, expires, q, ...). */
  readonly params: Params;
  /** Convenience for params.get('tag'). */
  readonly tag: string | undefined;
  /** Whether the URI was enclosed in <>. */
  readonly angle: boolean;
}

/** RFC 3261 §20.42 Via, with RFC 3581 rport. */
export interface Via {
  /** `SIP/2.0` */
  readonly protocol: string;
  /** Upper-cased transport token: UDP, TCP, TLS, SCTP, WS ... (unknown ones are legal). */
  readonly transport: string;
  readonly host: string;
  readonly port: number | undefined;
  readonly params: Params;
  readonly branch: string | undefined;
  readonly received: string | undefined;
  /** undefined: absent; null: present without value (request); number: filled in. */
  readonly rport: number | null | undefined;
}

export interface CSeq {
  readonly seq: number;
  readonly method: string;
}

/** One header line as received (after unfolding), in wire order. */
export interface SipHeader {
  /** Canonical name: lower-case, compact form expanded (`v` -> `via`, `y` -> `identity`). */
  readonly name: string;
  /** The name as written on the wire, used when serialising unchanged. */
  readonly rawName: string;
  /** The value with folding replaced by a single space and surrounding whitespace trimmed. */
  readonly value: string;
}

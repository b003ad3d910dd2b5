/**
 * Refuses new INVITEs before any work is spent on them (overload control, src/app/overload-detector.ts): the
 * B2BUA asks it first, before validation, trunk match, dialog and hook chain (RFC 6357 §3: work spent on a
 * request that is then refused is what makes goodput collapse).
 */
export interface InviteShedder {
  /** RFC 3261 §21.5.4: the Retry-After (seconds) when this new INVITE is to be refused now, else undefined. */
  shed(): number | undefined;
}

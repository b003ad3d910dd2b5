/**
 * Refuses new INVITEs before any work is spent on them (overload control, src/app/overload-detector.ts): the
 * transaction layer asks the B2BUA (`shedInvite`), which asks this, before a transaction, validation, trunk
 * match, dialog or hook chain exists for the INVITE (RFC 6357 §3: work spent on a request that is then
 * refused is what makes goodput collapse); the layer answers 503 statelessly (RFC 3261 §8.2.7).
 */
export interface InviteShedder {
  /** RFC 3261 §21.5.4: the Retry-After (seconds) when this new INVITE is to be refused now, else undefined. */
  shed(): number | undefined;
}

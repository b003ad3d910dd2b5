/**
 * `s` as a string of its own. The parser cuts header values, branches and tags out of the message's whole
 * decoded header text, and V8 makes a slice of 13 or more characters a view on the string it was cut from:
 * holding such a slice (in a dialog for the whole call, in a transaction through a 32 s wait state) holds
 * the whole message text too. Concatenating then slicing makes V8 copy the characters into a flat string of
 * their own; shorter strings are copies already.
 */
export function detach(s: string): string {
  return s.length < 13 ? s : `${s} `.slice(0, -1);
}

/** {@link detach} for an optional string. */
export function detachMaybe(s: string | undefined): string | undefined {
  return s === undefined ? undefined : detach(s);
}

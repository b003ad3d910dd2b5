/**
 * The one base class of every error Stirgate throws. `code` is stable (a closed string-literal union per
 * subclass, the same names docs/errors.md lists and logs carry); `cause` is the underlying error when there is
 * one (ES2022 `Error.cause`). Callers branch on `code`, never on `message`.
 *
 * A leaf module: every layer (sip, stir, config included) may import it.
 */
export abstract class StirgateError<C extends string = string> extends Error {
  readonly code: C;

  constructor(code: C, message: string, options?: { readonly cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** What a starting element must undo if a later step fails, and undoes in reverse order when it closes. */
export class Closers {
  readonly #fns: (() => Promise<void> | void)[] = [];

  add(fn: () => Promise<void> | void): void {
    this.#fns.push(fn);
  }

  /** Close everything, last opened first; closing is best effort. Idempotent. */
  async closeAll(): Promise<void> {
    const fns = this.#fns.splice(0).reverse();
    for (const fn of fns) {
      try {
        await fn();
      } catch {
        // best effort: one failed close must not keep the others open
      }
    }
  }
}

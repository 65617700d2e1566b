/**
 * The error of a bad command line or config value. Needs no permissions.
 *
 * @module
 */

/** A bad command line; the message is one line, printed before the usage hint. */
export class UsageError extends Error {
  /** @param message What is wrong, naming the flag. */
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

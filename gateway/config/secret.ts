/**
 * A resolved secret whose value never leaks by accident: `JSON.stringify`, string conversion and
 * `util.inspect` (hence pino and `console.log`) all print `[redacted]`. Read it with {@link Secret.reveal}.
 */
import { inspect } from "node:util";

/** Where a secret came from, for messages that must not show the value. */
export type SecretOrigin = "value" | "fromEnv" | "fromFile";

/** A secret value with a redacting string form. */
export class Secret {
  readonly #value: string;
  /** How the secret was given. */
  readonly origin: SecretOrigin;
  /** The variable name or file path it was read from (undefined for an inline value). */
  readonly reference: string | undefined;

  /**
   * @param value the secret itself
   * @param origin how it was given
   * @param reference environment variable name or file path, when not inline
   */
  constructor(value: string, origin: SecretOrigin, reference?: string) {
    this.#value = value;
    this.origin = origin;
    this.reference = reference;
  }

  /** The secret value. Call only where it is sent to its one legitimate consumer. */
  reveal(): string {
    return this.#value;
  }

  /** Always `[redacted]`. */
  toString(): string {
    return "[redacted]";
  }

  /** Always `"[redacted]"`, so serialized configs carry no secret. */
  toJSON(): string {
    return "[redacted]";
  }

  /** `util.inspect` form. */
  [inspect.custom](): string {
    return `Secret(${this.origin}${this.reference === undefined ? "" : ` ${this.reference}`}: [redacted])`;
  }
}

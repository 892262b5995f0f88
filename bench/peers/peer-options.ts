/**
 * What every peer is configured with: the same rules the gateway enforces for the bench tenant, as far as
 * each stack allows (RS256 only, issuer, audience, client app, JWKS from the emulator over HTTPS with the
 * local CA), and the same management point to proxy to.
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";

/** A peer's settings, from its command line. */
export interface PeerOptions {
  /** The MP simulator's origin. */
  readonly mpUrl: string;
  /** The tenant's JWKS URL at the emulator (v1 keys). */
  readonly jwksUri: string;
  readonly issuer: string;
  readonly audience: string;
  /** The CM client app: tokens must carry it as `appid` (v1). */
  readonly clientAppId: string;
  /** PEM of the CA that signs the emulator's and the MP's certificates. */
  readonly caPem: string;
  /** Verified-token cache on (fastify peer only). */
  readonly cache: boolean;
}

/**
 * Parses `--mp URL --jwks URL --issuer S --audience S --client-app ID --ca FILE [--cache on|off]`.
 *
 * @param argv arguments after the script
 */
export function parsePeerOptions(argv: readonly string[]): PeerOptions {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      mp: { type: "string" },
      jwks: { type: "string" },
      issuer: { type: "string" },
      audience: { type: "string" },
      "client-app": { type: "string" },
      ca: { type: "string" },
      cache: { type: "string", default: "on" },
    },
  });
  const missing = (["mp", "jwks", "issuer", "audience", "client-app", "ca"] as const).filter((k) => !values[k]);
  if (missing.length > 0) throw new Error(`missing options: ${missing.map((m) => `--${m}`).join(", ")}`);
  return {
    mpUrl: values.mp!,
    jwksUri: values.jwks!,
    issuer: values.issuer!,
    audience: values.audience!,
    clientAppId: values["client-app"]!,
    caPem: readFileSync(values.ca!, "utf8"),
    cache: values.cache !== "off",
  };
}

/** Prints the line the bench waits for, and stops on SIGTERM/SIGINT. */
export function announceReady(url: string, close: () => Promise<void>): void {
  process.stdout.write(`${JSON.stringify({ ready: true, url, pid: process.pid })}\n`);
  const stop = () => void close().finally(() => process.exit(0));
  process.once("SIGTERM", stop);
  process.once("SIGINT", stop);
}

/**
 * Worker thread of {@link mintInWorkers} (`bench/tokens.ts`): signs fresh variants of template tokens with
 * the emulator's private signing key (simulation material, docs/architecture.md § Interfaces `entra.signingKeys`). Each variant
 * gets a new `uti` (Entra's unique token identifier) and `aio`, so every token is distinct and valid.
 */
import { createPrivateKey, randomBytes, sign } from "node:crypto";
import { parentPort, workerData } from "node:worker_threads";

/** Input of one worker. */
export interface MintJob {
  readonly privateKeyPem: string;
  /** base64url of the JOSE header (shared by all variants). */
  readonly headerB64: string;
  /** Claim sets to vary, used round-robin. */
  readonly templates: readonly Record<string, unknown>[];
  readonly count: number;
  /** Index of the first variant (picks the template). */
  readonly offset: number;
  readonly iatSec: number;
  readonly expSec: number;
}

function mint(job: MintJob): string {
  const key = createPrivateKey(job.privateKeyPem);
  const out: string[] = [];
  for (let i = 0; i < job.count; i++) {
    const template = job.templates[(job.offset + i) % job.templates.length]!;
    const claims = {
      ...template,
      iat: job.iatSec,
      nbf: job.iatSec,
      exp: job.expSec,
      aio: randomBytes(45).toString("base64url"),
      uti: randomBytes(16).toString("base64url"),
    };
    const input = `${job.headerB64}.${Buffer.from(JSON.stringify(claims)).toString("base64url")}`;
    out.push(`${input}.${sign("sha256", Buffer.from(input), key).toString("base64url")}`);
  }
  return out.join("\n");
}

if (parentPort) parentPort.postMessage(mint(workerData as MintJob));

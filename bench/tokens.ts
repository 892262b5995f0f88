/**
 * Which tokens does each workload send? All are minted ahead of time (or, for tokens that need no valid
 * signature, built on the fly for a few microseconds each), so the load generator never signs during a run:
 *
 * - `warm`: ~1000 valid v1 user tokens of the bench tenant, reused (verified-token cache hits);
 * - `cold`: a large pool of distinct valid tokens, each sent once per server (signature and claims checked
 *   every time), cached on disk under the state directory for a week so later runs start at once;
 * - `mixed`: user, device and user+device tokens, v1 and v2, of every seeded tenant that has principals;
 * - `garbage`: malformed tokens; `forged`: valid shape, random signature; `unknownKid`: random `kid`.
 */
import { randomBytes } from "node:crypto";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { Worker } from "node:worker_threads";
import type { MintJob } from "./mint-worker.js";
import type { BenchStack, BenchTenant } from "./stack.js";

/** Lifetime of bench tokens: long enough to reuse a cached pool across runs for a week. */
export const TOKEN_LIFETIME_SEC = 8 * 86_400;
/** A cached pool is reused while its tokens stay valid this much longer. */
const MIN_REMAINING_SEC = 86_400;

function decodePart(part: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(part, "base64url").toString("utf8")) as Record<string, unknown>;
}

function nowSec(): number {
  return Math.floor(Date.now() / 1000);
}

/** Mints one token with the bench lifetime through the emulator (in process). */
function mintOne(
  stack: BenchStack,
  tenant: BenchTenant,
  kind: "user" | "device" | "user+device",
  version: 1 | 2,
  index: number,
): string {
  const iat = nowSec();
  return stack.entra.mint({
    tenantId: tenant.id,
    kind,
    version,
    ...(kind !== "device" ? { upn: tenant.users[index % tenant.users.length]! } : {}),
    ...(kind !== "user" ? { deviceId: tenant.deviceIds[index % tenant.deviceIds.length]! } : {}),
    claims: { iat, nbf: iat, exp: iat + TOKEN_LIFETIME_SEC },
  });
}

/** `count` valid v1 user tokens of the bench tenant, cycling through its users. */
export function mintWarmPool(stack: BenchStack, count: number): string[] {
  return Array.from({ length: count }, (_, i) => mintOne(stack, stack.benchTenant, "user", 1, i));
}

/**
 * Tokens of every seeded tenant that has users or devices: user, device and user+device, v1 and v2
 * (tenants without principals — a CMG-only subscription — cannot hold such tokens and are skipped).
 */
export function mintMixedPool(stack: BenchStack, count: number): { tokens: string[]; tenants: number } {
  const combos: [BenchTenant, "user" | "device" | "user+device", 1 | 2][] = [];
  for (const t of stack.tenants) {
    for (const version of [1, 2] as const) {
      if (t.users.length > 0) combos.push([t, "user", version]);
      if (t.deviceIds.length > 0) combos.push([t, "device", version]);
      if (t.users.length > 0 && t.deviceIds.length > 0) combos.push([t, "user+device", version]);
    }
  }
  const tokens = Array.from({ length: count }, (_, i) => {
    const [tenant, kind, version] = combos[i % combos.length]!;
    return mintOne(stack, tenant, kind, version, Math.floor(i / combos.length));
  });
  return { tokens, tenants: new Set(combos.map(([t]) => t.id)).size };
}

/** Signs `count` variants of `templates` on all cores. */
async function mintInWorkers(
  job: Omit<MintJob, "count" | "offset">,
  count: number,
  onProgress?: (done: number) => void,
): Promise<string[]> {
  const workers = Math.max(1, availableParallelism());
  const chunk = 2_000;
  const out: string[] = [];
  let next = 0;
  const runOne = async (): Promise<void> => {
    while (next < count) {
      const offset = next;
      const n = Math.min(chunk, count - offset);
      next += n;
      const text = await new Promise<string>((resolve, reject) => {
        const worker = new Worker(new URL("./mint-worker.js", import.meta.url), {
          workerData: { ...job, count: n, offset } satisfies MintJob,
        });
        worker.once("message", (m: string) => resolve(m));
        worker.once("error", reject);
      });
      out.push(...text.split("\n"));
      onProgress?.(out.length);
    }
  };
  await Promise.all(Array.from({ length: workers }, runOne));
  return out;
}

/** Where a cold pool is cached, and what it was minted with. */
interface ColdPoolMeta {
  readonly tenantId: string;
  readonly kid: string;
  readonly expSec: number;
  readonly count: number;
}

/**
 * At least `count` distinct valid v1 user tokens of the bench tenant. Reuses the pool cached under
 * `<stateDir>/tokens/` when it was signed by the tenant's current key and stays valid for a day; mints the
 * missing part (in worker threads) otherwise.
 */
export async function coldPool(
  stack: BenchStack,
  count: number,
  log: (line: string) => void,
): Promise<{ tokens: string[]; minted: number; seconds: number }> {
  const started = performance.now();
  const tenant = stack.benchTenant;
  const key = stack.entra.keys.current(tenant.id);
  const dir = join(stack.stateDir, "tokens");
  const metaFile = join(dir, `cold-${tenant.id}.json`);
  const dataFile = join(dir, `cold-${tenant.id}.txt`);
  let tokens: string[] = [];
  let expSec = nowSec() + TOKEN_LIFETIME_SEC;
  try {
    const meta = JSON.parse(await readFile(metaFile, "utf8")) as ColdPoolMeta;
    if (meta.kid === key.kid && meta.expSec - nowSec() > MIN_REMAINING_SEC) {
      tokens = (await readFile(dataFile, "utf8")).split("\n").filter((l) => l.length > 0);
      expSec = meta.expSec;
    }
  } catch {
    // No usable cache: mint everything.
  }
  const missing = count - tokens.length;
  if (missing > 0) {
    // Templates: real emulator tokens (one per user) whose uti/aio/iat/exp the workers vary.
    const templates = tenant.users.slice(0, 50).map((_, i) => {
      const [, payload] = mintOne(stack, tenant, "user", 1, i).split(".");
      return decodePart(payload!);
    });
    const [headerB64] = mintOne(stack, tenant, "user", 1, 0).split(".");
    log(`minting ${missing} cold tokens on ${availableParallelism()} threads (cached for later runs)…`);
    let lastLog = performance.now();
    const fresh = await mintInWorkers(
      {
        privateKeyPem: key.privateKey.export({ format: "pem", type: "pkcs8" }).toString(),
        headerB64: headerB64!,
        templates,
        iatSec: expSec - TOKEN_LIFETIME_SEC,
        expSec,
      },
      missing,
      (done) => {
        if (performance.now() - lastLog > 5_000) {
          lastLog = performance.now();
          log(`  ${done}/${missing}`);
        }
      },
    );
    tokens = tokens.concat(fresh);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await writeFile(dataFile, `${tokens.join("\n")}\n`, { mode: 0o600 });
    const meta: ColdPoolMeta = { tenantId: tenant.id, kid: key.kid, expSec, count: tokens.length };
    await writeFile(metaFile, JSON.stringify(meta), { mode: 0o600 });
  }
  return {
    tokens,
    minted: Math.max(0, missing),
    seconds: (performance.now() - started) / 1000,
  };
}

/**
 * Malformed credentials a scanner or a broken client sends: wrong segment counts, bad base64url, JSON that
 * is not an object, `alg: none` and `HS256`, a missing `kid`, `crit`, and random bytes.
 */
export function garbagePool(template: string, count: number): string[] {
  const [header, payload, signature] = template.split(".") as [string, string, string];
  const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString("base64url");
  const h = decodePart(header);
  const makers: (() => string)[] = [
    () => randomBytes(48).toString("base64url"),
    () => `${header}.${payload}`,
    () => `${header}.${payload}.${signature}.${randomBytes(4).toString("hex")}`,
    () => `${header}.!!${randomBytes(8).toString("hex")}.${signature}`,
    () => `${b64("not an object")}.${payload}.${signature}`,
    () => `${b64({ ...h, alg: "none" })}.${payload}.`,
    () => `${b64({ ...h, alg: "HS256" })}.${payload}.${randomBytes(32).toString("base64url")}`,
    () => `${b64({ typ: "JWT", alg: "RS256" })}.${payload}.${signature}`,
    () => `${b64({ ...h, crit: ["exp"] })}.${payload}.${signature}`,
    () => `${header}.${Buffer.from(`{"tid":"${randomBytes(4).toString("hex")}"`).toString("base64url")}.${signature}`,
  ];
  return Array.from({ length: count }, (_, i) => makers[i % makers.length]!());
}

/** A generator of distinct tokens that cost the client microseconds: fixed header and claims, random tail. */
export type TokenGenerator = () => string;

/** Valid shape, valid claims, the tenant's real `kid`, and a random signature of the right length. */
export function forgedTokens(template: string): TokenGenerator {
  const [header, payload, signature] = template.split(".") as [string, string, string];
  const sigBytes = Buffer.from(signature, "base64url").length;
  const prefix = `${header}.${payload}.`;
  return () => prefix + randomBytes(sigBytes).toString("base64url");
}

/** Valid shape and claims, signed nowhere, with a random `kid` each time (a flood of unknown keys). */
export function unknownKidTokens(template: string): TokenGenerator {
  const [header, payload, signature] = template.split(".") as [string, string, string];
  const h = decodePart(header);
  const sigBytes = Buffer.from(signature, "base64url").length;
  return () => {
    const kid = randomBytes(20).toString("base64url");
    const head = Buffer.from(JSON.stringify({ ...h, kid, ...(h.x5t ? { x5t: kid } : {}) })).toString("base64url");
    return `${head}.${payload}.${randomBytes(sigBytes).toString("base64url")}`;
  };
}

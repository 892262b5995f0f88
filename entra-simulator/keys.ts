/**
 * Token signing keys, one set per cloud, shared by every tenant of that cloud and published identically
 * under every tenant's `jwks_uri`, as Entra does (docs/architecture.md § Signing keys): several RSA-2048
 * keys, each with a self-signed certificate in `x5c`, `kid` = `x5t` = the base64url SHA-1 thumbprint of that
 * certificate, no `alg` member, and on v2 documents a key `issuer`. Tenant isolation therefore rests on the
 * `iss`/`tid`/`aud`/`appid` checks, never on which key signed.
 *
 * Rotation publishes a new key in the cloud's set and signs with it, keeping the previous one published for
 * a grace period; revocation removes a key from the set at once (Entra's emergency rollover). Both act on
 * every tenant of the cloud.
 */
import { createHash, createPrivateKey, type JsonWebKey, KeyObject } from "node:crypto";
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { generateRsaKeys, selfSign } from "../lib/pki.js";

/** One signing key with its certificate. */
export interface SigningKey {
  /** The key set holding it: the cloud's name. */
  readonly set: string;
  readonly kid: string;
  readonly certDer: string;
  readonly privateKey: KeyObject;
  readonly publicJwk: { readonly n: string; readonly e: string };
  readonly createdAt: number;
  /** Set when rotated out: the key stays published until then. */
  retiresAt?: number;
}

/** A published JWK in Entra's shape. */
export interface PublishedJwk {
  kty: "RSA";
  use: "sig";
  kid: string;
  x5t: string;
  n: string;
  e: string;
  x5c: string[];
  issuer?: string;
  cloud_instance_name?: string;
}

/**
 * A private JWK of the exported signing-key file (simulation material). A cloud's key appears once per
 * tenant of that cloud (same `kid`, different `tid`), so a tool can look keys up by tenant as before.
 */
export interface PrivateSigningJwk extends JsonWebKey {
  kid: string;
  x5t: string;
  alg: "RS256";
  use: "sig";
  /** A tenant whose tokens the key signs (non-standard member). */
  tid: string;
  /** The cloud whose key set holds the key (non-standard member). */
  cloud: string;
  /** Whether this is the cloud's current signing key (non-standard member). */
  current: boolean;
  /** When a rotated-out key stops being published, ms since the epoch (non-standard member). */
  retiresAt?: number;
  x5c: string[];
}

/** Options of {@link createKeyStore}. */
export interface KeyStoreOptions {
  readonly now: () => number;
  /** How long a rotated-out key stays published. */
  readonly rotationGraceMs: number;
  /** Keys published per cloud at start (the first one signs). */
  readonly keysPerCloud: number;
}

interface KeySet {
  current: SigningKey;
  keys: SigningKey[];
}

/**
 * Makes one signing key: an RSA-2048 pair and its self-signed certificate. The only place the emulator
 * generates signing keys, so a test key pool can replace it.
 */
export async function generateSigningKey(set: string, now: number): Promise<SigningKey> {
  const pair = await generateRsaKeys();
  // Entra's token signing certificates are self-signed, CN=accounts.accesscontrol.windows.net.
  const cert = await selfSign(pair, { commonName: "accounts.accesscontrol.windows.net", days: 730, isCa: false });
  const privateKey = KeyObject.from(pair.privateKey);
  const jwk = privateKey.export({ format: "jwk" });
  return {
    set,
    kid: createHash("sha1").update(cert.der).digest("base64url"),
    certDer: cert.der.toString("base64"),
    privateKey,
    publicJwk: { n: jwk.n!, e: jwk.e! },
    createdAt: now,
  };
}

function fromPrivateJwk(jwk: PrivateSigningJwk): SigningKey {
  return {
    set: jwk.cloud,
    kid: jwk.kid,
    certDer: jwk.x5c[0]!,
    privateKey: createPrivateKey({ key: jwk, format: "jwk" }),
    publicJwk: { n: jwk.n!, e: jwk.e! },
    createdAt: 0,
    ...(jwk.retiresAt !== undefined ? { retiresAt: jwk.retiresAt } : {}),
  };
}

/** The emulator's signing keys. Methods take a tenant ID and act on that tenant's cloud set. */
export interface KeyStore {
  /** Joins the tenant to its cloud's key set, creating the set unless it exists. */
  ensureTenant(tenantId: string, cloud: string): Promise<void>;
  /** The cloud whose set signs this tenant's tokens. */
  cloudOf(tenantId: string): string;
  /** The key tokens of this tenant (and every tenant of its cloud) are signed with now. */
  current(tenantId: string): SigningKey;
  /** Published keys (retired ones past their grace period are dropped). */
  published(tenantId: string): readonly SigningKey[];
  /** A published key of the tenant's cloud by `kid`, or undefined. */
  find(tenantId: string, kid: string): SigningKey | undefined;
  /** Publishes a new key in the tenant's cloud set and makes it current; the old one retires after the grace period. */
  rotate(tenantId: string): Promise<{ kid: string; retiring: string; cloud: string }>;
  /** Removes a key from the cloud set at once; if it was current, the newest remaining key (or a new one) takes over. */
  revoke(tenantId: string, kid: string): Promise<{ current: string; cloud: string }>;
  /** All sets as private JWKs (the `entra.signingKeys` file of docs/architecture.md § Interfaces). */
  exportPrivate(): { keys: PrivateSigningJwk[] };
  /** Writes {@link exportPrivate} atomically to `path` (mode 0600). */
  save(path: string): Promise<void>;
  /**
   * Loads sets from a file written by {@link save}; returns false when the file does not exist or predates
   * cloud-wide sets (no `cloud` member), so fresh sets are made.
   */
  load(path: string): Promise<boolean>;
}

/** Creates an empty key store. */
export function createKeyStore(options: KeyStoreOptions): KeyStore {
  const sets = new Map<string, KeySet>();
  const cloudOfTenant = new Map<string, string>();
  const pending = new Map<string, Promise<void>>();

  function cloudOf(tenantId: string): string {
    const cloud = cloudOfTenant.get(tenantId);
    if (cloud === undefined) throw new Error(`no signing keys for tenant ${tenantId}`);
    return cloud;
  }

  function setOf(tenantId: string): KeySet {
    const s = sets.get(cloudOf(tenantId));
    if (!s) throw new Error(`no signing keys for tenant ${tenantId}`);
    return s;
  }

  function prune(s: KeySet): void {
    const now = options.now();
    s.keys = s.keys.filter((k) => k === s.current || k.retiresAt === undefined || k.retiresAt > now);
  }

  async function ensureSet(cloud: string): Promise<void> {
    if (sets.has(cloud)) return;
    let p = pending.get(cloud);
    if (!p) {
      p = (async () => {
        const now = options.now();
        const keys = await Promise.all(
          Array.from({ length: Math.max(1, options.keysPerCloud) }, () => generateSigningKey(cloud, now)),
        );
        sets.set(cloud, { current: keys[0]!, keys });
      })();
      pending.set(cloud, p);
    }
    try {
      await p;
    } finally {
      pending.delete(cloud);
    }
  }

  const store: KeyStore = {
    async ensureTenant(tenantId, cloud) {
      cloudOfTenant.set(tenantId, cloud);
      await ensureSet(cloud);
    },
    cloudOf,
    current: (tenantId) => setOf(tenantId).current,
    published(tenantId) {
      const s = setOf(tenantId);
      prune(s);
      return s.keys;
    },
    find(tenantId, kid) {
      const cloud = cloudOfTenant.get(tenantId);
      const s = cloud === undefined ? undefined : sets.get(cloud);
      if (!s) return undefined;
      prune(s);
      return s.keys.find((k) => k.kid === kid);
    },
    async rotate(tenantId) {
      const cloud = cloudOf(tenantId);
      const s = setOf(tenantId);
      const now = options.now();
      const key = await generateSigningKey(cloud, now);
      const old = s.current;
      old.retiresAt = now + options.rotationGraceMs;
      s.keys = [key, ...s.keys];
      s.current = key;
      return { kid: key.kid, retiring: old.kid, cloud };
    },
    async revoke(tenantId, kid) {
      const cloud = cloudOf(tenantId);
      const s = setOf(tenantId);
      if (!s.keys.some((k) => k.kid === kid)) throw new Error(`key ${kid} is not published for cloud ${cloud}`);
      s.keys = s.keys.filter((k) => k.kid !== kid);
      if (s.current.kid === kid) {
        const next = s.keys.find((k) => k.retiresAt === undefined) ?? s.keys[0];
        if (next) {
          delete next.retiresAt;
          s.current = next;
        } else {
          s.current = await generateSigningKey(cloud, options.now());
          s.keys = [s.current];
        }
      }
      return { current: s.current.kid, cloud };
    },
    exportPrivate() {
      const keys: PrivateSigningJwk[] = [];
      for (const [tenantId, cloud] of cloudOfTenant) {
        const s = sets.get(cloud);
        if (!s) continue;
        prune(s);
        for (const k of s.keys) {
          keys.push({
            ...(k.privateKey.export({ format: "jwk" }) as JsonWebKey),
            kid: k.kid,
            x5t: k.kid,
            alg: "RS256",
            use: "sig",
            tid: tenantId,
            cloud,
            current: k === s.current,
            ...(k.retiresAt !== undefined ? { retiresAt: k.retiresAt } : {}),
            x5c: [k.certDer],
          });
        }
      }
      return { keys };
    },
    async save(path) {
      await mkdir(dirname(path), { recursive: true });
      const tmp = `${path}.${process.pid}.tmp`;
      await writeFile(tmp, `${JSON.stringify(store.exportPrivate(), null, 2)}\n`, { mode: 0o600 });
      await rename(tmp, path);
    },
    async load(path) {
      let text: string;
      try {
        text = await readFile(path, "utf8");
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === "ENOENT") return false;
        throw err;
      }
      const doc = JSON.parse(text) as { keys: PrivateSigningJwk[] };
      // A file of per-tenant rings (before cloud-wide sets) cannot be merged faithfully: start afresh.
      if (!doc.keys.every((k) => typeof k.cloud === "string")) return false;
      sets.clear();
      cloudOfTenant.clear();
      for (const jwk of doc.keys) {
        cloudOfTenant.set(jwk.tid, jwk.cloud);
        const s = sets.get(jwk.cloud);
        const known = s?.keys.find((k) => k.kid === jwk.kid);
        const key = known ?? fromPrivateJwk(jwk);
        if (!s) sets.set(jwk.cloud, { current: key, keys: [key] });
        else if (!known) s.keys.push(key);
        if (jwk.current) sets.get(jwk.cloud)!.current = key;
      }
      return true;
    },
  };
  return store;
}

/** Renders a key as Entra publishes it; `issuer` only on v2 documents. */
export function toPublishedJwk(key: SigningKey, issuer: string | undefined): PublishedJwk {
  const jwk: PublishedJwk = {
    kty: "RSA",
    use: "sig",
    kid: key.kid,
    x5t: key.kid,
    n: key.publicJwk.n,
    e: key.publicJwk.e,
    x5c: [key.certDer],
  };
  if (issuer !== undefined) jwk.issuer = issuer;
  return jwk;
}

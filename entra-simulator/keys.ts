/**
 * Token signing keys, one ring per tenant, published the way Entra publishes its JWKS (docs/architecture.md § Signing keys):
 * several RSA-2048 keys, each with a self-signed certificate in `x5c`, `kid` = `x5t` = the base64url SHA-1
 * thumbprint of that certificate, no `alg` member, and on v2 documents a key `issuer`.
 *
 * Rotation publishes a new key and signs with it, keeping the previous one published for a grace period;
 * revocation removes a key at once (Entra's emergency rollover).
 */
import { createHash, createPrivateKey, type JsonWebKey, KeyObject } from "node:crypto";
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { generateRsaKeys, selfSign } from "../stack/tls.js";

/** One signing key with its certificate. */
export interface SigningKey {
  readonly tenantId: string;
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

/** A private JWK of the exported signing-key file (simulation material). */
export interface PrivateSigningJwk extends JsonWebKey {
  kid: string;
  x5t: string;
  alg: "RS256";
  use: "sig";
  /** Tenant whose ring holds the key (non-standard member). */
  tid: string;
  /** Whether this is the tenant's current signing key (non-standard member). */
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
  /** Keys published per tenant at start (the first one signs). */
  readonly keysPerTenant: number;
}

interface Ring {
  current: SigningKey;
  keys: SigningKey[];
}

async function generateSigningKey(tenantId: string, now: number): Promise<SigningKey> {
  const pair = await generateRsaKeys();
  // Entra's token signing certificates are self-signed, CN=accounts.accesscontrol.windows.net.
  const cert = await selfSign(pair, { commonName: "accounts.accesscontrol.windows.net", days: 730, isCa: false });
  const privateKey = KeyObject.from(pair.privateKey);
  const jwk = privateKey.export({ format: "jwk" });
  return {
    tenantId,
    kid: createHash("sha1").update(cert.der).digest("base64url"),
    certDer: cert.der.toString("base64"),
    privateKey,
    publicJwk: { n: jwk.n!, e: jwk.e! },
    createdAt: now,
  };
}

function fromPrivateJwk(jwk: PrivateSigningJwk): SigningKey {
  return {
    tenantId: jwk.tid,
    kid: jwk.kid,
    certDer: jwk.x5c[0]!,
    privateKey: createPrivateKey({ key: jwk, format: "jwk" }),
    publicJwk: { n: jwk.n!, e: jwk.e! },
    createdAt: 0,
    ...(jwk.retiresAt !== undefined ? { retiresAt: jwk.retiresAt } : {}),
  };
}

/** The emulator's signing keys. */
export interface KeyStore {
  /** Creates the tenant's ring unless it exists. */
  ensureTenant(tenantId: string): Promise<void>;
  /** The key tokens of this tenant are signed with now. */
  current(tenantId: string): SigningKey;
  /** Published keys (retired ones past their grace period are dropped). */
  published(tenantId: string): readonly SigningKey[];
  /** A published key by `kid`, or undefined. */
  find(tenantId: string, kid: string): SigningKey | undefined;
  /** Publishes a new key and makes it current; the old current key retires after the grace period. */
  rotate(tenantId: string): Promise<{ kid: string; retiring: string }>;
  /** Removes a key at once; if it was current, the newest remaining key (or a new one) takes over. */
  revoke(tenantId: string, kid: string): Promise<{ current: string }>;
  /** All rings as private JWKs (the `entra.signingKeys` file of docs/architecture.md § Interfaces). */
  exportPrivate(): { keys: PrivateSigningJwk[] };
  /** Writes {@link exportPrivate} atomically to `path` (mode 0600). */
  save(path: string): Promise<void>;
  /** Loads rings from a file written by {@link save}; returns false when the file does not exist. */
  load(path: string): Promise<boolean>;
}

/** Creates an empty key store. */
export function createKeyStore(options: KeyStoreOptions): KeyStore {
  const rings = new Map<string, Ring>();
  const pending = new Map<string, Promise<void>>();

  function ring(tenantId: string): Ring {
    const r = rings.get(tenantId);
    if (!r) throw new Error(`no signing keys for tenant ${tenantId}`);
    return r;
  }

  function prune(r: Ring): void {
    const now = options.now();
    r.keys = r.keys.filter((k) => k === r.current || k.retiresAt === undefined || k.retiresAt > now);
  }

  const store: KeyStore = {
    async ensureTenant(tenantId) {
      if (rings.has(tenantId)) return;
      let p = pending.get(tenantId);
      if (!p) {
        p = (async () => {
          const now = options.now();
          const keys = await Promise.all(
            Array.from({ length: Math.max(1, options.keysPerTenant) }, () => generateSigningKey(tenantId, now)),
          );
          rings.set(tenantId, { current: keys[0]!, keys });
        })();
        pending.set(tenantId, p);
      }
      try {
        await p;
      } finally {
        pending.delete(tenantId);
      }
    },
    current: (tenantId) => ring(tenantId).current,
    published(tenantId) {
      const r = ring(tenantId);
      prune(r);
      return r.keys;
    },
    find(tenantId, kid) {
      const r = rings.get(tenantId);
      if (!r) return undefined;
      prune(r);
      return r.keys.find((k) => k.kid === kid);
    },
    async rotate(tenantId) {
      const r = ring(tenantId);
      const now = options.now();
      const key = await generateSigningKey(tenantId, now);
      const old = r.current;
      old.retiresAt = now + options.rotationGraceMs;
      r.keys = [key, ...r.keys];
      r.current = key;
      return { kid: key.kid, retiring: old.kid };
    },
    async revoke(tenantId, kid) {
      const r = ring(tenantId);
      if (!r.keys.some((k) => k.kid === kid)) throw new Error(`key ${kid} is not published for tenant ${tenantId}`);
      r.keys = r.keys.filter((k) => k.kid !== kid);
      if (r.current.kid === kid) {
        const next = r.keys.find((k) => k.retiresAt === undefined) ?? r.keys[0];
        if (next) {
          delete next.retiresAt;
          r.current = next;
        } else {
          r.current = await generateSigningKey(tenantId, options.now());
          r.keys = [r.current];
        }
      }
      return { current: r.current.kid };
    },
    exportPrivate() {
      const keys: PrivateSigningJwk[] = [];
      for (const [tenantId, r] of rings) {
        prune(r);
        for (const k of r.keys) {
          keys.push({
            ...(k.privateKey.export({ format: "jwk" }) as JsonWebKey),
            kid: k.kid,
            x5t: k.kid,
            alg: "RS256",
            use: "sig",
            tid: tenantId,
            current: k === r.current,
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
      rings.clear();
      for (const jwk of doc.keys) {
        const key = fromPrivateJwk(jwk);
        const r = rings.get(jwk.tid);
        if (!r) rings.set(jwk.tid, { current: key, keys: [key] });
        else {
          r.keys.push(key);
          if (jwk.current) r.current = key;
        }
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

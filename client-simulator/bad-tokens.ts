/**
 * The bad tokens of the `bad-tokens` scenario, each with the answer docs/architecture.md § Rejections prescribes for it. Tokens are
 * minted by the emulator's test-only `/_sim/mint` (signed with the tenant's real current key) and then
 * altered where the case needs it. Each carries a unique `oid` marker, so the MP's audit can prove that none
 * of them reached it.
 *
 * The expectations are written here from the design's table, on purpose not imported from the gateway: a
 * check that reads the gateway's own table would agree with any mistake in it.
 */
import { randomUUID } from "node:crypto";
import type { ExpectedRefusal } from "./client.js";
import { type HttpClient, jsonOf, stringProperty } from "./http.js";
import type { StackFileTenant } from "./stack-file.js";

/** One bad token and what the gateway must answer. */
export interface BadToken {
  /** Case name: `expired`, `wrong-audience`, … */
  readonly name: string;
  readonly tenantId: string;
  readonly token: string;
  /** The `oid` the token claims (absent from every real directory). */
  readonly marker: string;
  /** The gateway's reason code (log line, metric label). */
  readonly reason: string;
  readonly expect: ExpectedRefusal;
}

const INVALID_TOKEN: ExpectedRefusal = { status: 401, challenge: "invalid_token" };
const INSUFFICIENT_SCOPE: ExpectedRefusal = { status: 403, challenge: "insufficient_scope" };

/** The case names, in the order they are sent. */
export const BAD_TOKEN_CASES = [
  "expired",
  "not-yet-valid",
  "wrong-audience",
  "wrong-client-app",
  "other-tenant",
  "unknown-tenant",
  "forged-signature",
  "alg-none",
  "alg-none-unsigned",
  "app-token",
] as const;

function b64(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString("base64url");
}

function parts(token: string): { header: Record<string, unknown>; payload: Record<string, unknown>; sig: string } {
  const [h, p, s] = token.split(".");
  return {
    header: JSON.parse(Buffer.from(h!, "base64url").toString("utf8")) as Record<string, unknown>,
    payload: JSON.parse(Buffer.from(p!, "base64url").toString("utf8")) as Record<string, unknown>,
    sig: s ?? "",
  };
}

/**
 * Mints the catalogue for `tenant`. `other` is a tenant of another cloud whose key signs the cross-cloud
 * forgery (a token of `other` claiming to come from `tenant`).
 */
export async function mintBadTokens(
  http: HttpClient,
  entraUrl: string,
  tenant: StackFileTenant,
  other: StackFileTenant,
): Promise<BadToken[]> {
  const mint = async (body: Record<string, unknown>): Promise<string> => {
    const res = await http.send({
      method: "POST",
      url: `${entraUrl}/_sim/mint`,
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    const token = stringProperty(jsonOf(res), "token");
    if (res.status !== 200 || token === undefined) throw new Error(`/_sim/mint answered ${res.status}: ${res.text}`);
    return token;
  };
  const now = Math.floor(Date.now() / 1000);
  const out: BadToken[] = [];
  const add = (name: string, token: string, marker: string, reason: string, expect = INVALID_TOKEN) =>
    out.push({ name, tenantId: tenant.id, token, marker, reason, expect });
  const user = (marker: string, claims: Record<string, unknown> = {}, tenantId = tenant.id) =>
    mint({ tenantId, kind: "user", claims: { oid: marker, ...claims } });

  for (const name of BAD_TOKEN_CASES) {
    const m = randomUUID();
    switch (name) {
      case "expired":
        // Well past the 300 s clock skew.
        add(name, await user(m, { iat: now - 7200, nbf: now - 7200, exp: now - 3600 }), m, "token_expired");
        break;
      case "not-yet-valid":
        add(name, await user(m, { iat: now, nbf: now + 3600, exp: now + 7200 }), m, "token_not_yet_valid");
        break;
      case "wrong-audience":
        add(name, await user(m, { aud: `api://${randomUUID()}/ConfigMgrService` }), m, "audience_invalid");
        break;
      case "wrong-client-app":
        add(name, await user(m, { appid: randomUUID() }), m, "client_app_invalid");
        break;
      case "other-tenant": {
        // Signed by another cloud's key (a tenant of the same cloud shares the key), claiming this tenant: the
        // key is not in this tenant's JWKS.
        const claims = { tid: tenant.id, iss: `https://sts.windows.net/${tenant.id}/`, aud: tenant.serverApp.appIdUri };
        add(name, await user(m, claims, other.id), m, "key_not_found");
        break;
      }
      case "unknown-tenant": {
        const tid = randomUUID();
        add(name, await user(m, { tid, iss: `https://sts.windows.net/${tid}/` }), m, "tenant_unknown");
        break;
      }
      case "forged-signature": {
        // A genuine token whose payload was changed afterwards (another user): the signature no longer holds.
        const real = parts(await user(randomUUID()));
        const forged = `${b64(real.header)}.${b64({ ...real.payload, oid: m })}.${real.sig}`;
        add(name, forged, m, "signature_invalid");
        break;
      }
      case "alg-none": {
        // RFC 8725 §3.1: the verifier picks the algorithm; "none" is refused whatever the signature says.
        const real = parts(await user(m));
        add(name, `${b64({ ...real.header, alg: "none" })}.${b64(real.payload)}.${real.sig}`, m, "alg_not_allowed");
        break;
      }
      case "alg-none-unsigned": {
        // An unsecured JWS (RFC 7515 §A.5) has an empty signature: not three non-empty segments, malformed.
        const real = parts(await user(m));
        add(name, `${b64({ ...real.header, alg: "none" })}.${b64(real.payload)}.`, m, "token_malformed");
        break;
      }
      case "app-token":
        // A client-credentials (app) token: neither user nor device, so not for /CCM_STS or content.
        add(
          name,
          await mint({ tenantId: tenant.id, kind: "app", claims: { oid: m } }),
          m,
          "token_kind_not_allowed",
          INSUFFICIENT_SCOPE,
        );
        break;
    }
  }
  return out;
}

/**
 * One simulated client running steps 4–5 of docs/architecture.md § Data flow through the gateway, and how each answer is judged.
 *
 * A round is what a real client does on a policy cycle: ask `AADAuthInfo` which app and resource to use, get
 * a device token (else a user token), exchange it at `/CCM_STS` for a CCM token, register and ask for policy
 * on `ccm_system_tokenauth` with that CCM token, download content with the Entra token, and call AdminService
 * with the user's token. Tokens are kept between rounds (as msal and the CM client cache them) and presented
 * again when the round says so; a held token refused with `invalid_token` is dropped and a new one fetched,
 * as a real client does.
 *
 * Requests take the cloud management gateway's path forms, as real clients do (`docs/simulators.md`):
 * `GET /CCM_Proxy_ServerAuth/AADAuthInfo?TenantID=…`, then the token exchange on the MutualAuth channel
 * (`/CCM_Proxy_MutualAuth/{mpId}/CCM_STS`; every other client writes the prefix upper-case and uses
 * ServerAuth, as both occur in real client logs), then `/CCM_Proxy_ServerAuth/{mpId}/…` for the rest and
 * `/CCM_Proxy_ServerAuth/{siteId}/AdminService/…`. Each client sticks to one MP. A stack without CMG IDs
 * (`mp.mps`) gets plain management point paths.
 *
 * Every request is judged against what the round expects: served (2xx), or refused with an exact status and
 * RFC 6750 challenge. Anything else is a failure.
 */
import { createHash, randomUUID } from "node:crypto";
import type { PlannedClient } from "./fleet.js";
import { bearerError, type HttpAnswer, type HttpClient, jsonOf, stringProperty } from "./http.js";
import { type AuthInfo, type HeldToken, TokenError, type TokenSource } from "./tokens.js";

/** The steps of a client's round (and the bad-token probes). */
export const STEPS = [
  "aad-auth-info",
  "device-token",
  "user-token",
  "ccm-sts",
  "registration",
  "policy",
  "content",
  "admin-service",
  "bad-token",
] as const;

/** One of {@link STEPS}. */
export type StepName = (typeof STEPS)[number];

/**
 * What an answer must look like to be a refusal as expected: the status, and the `WWW-Authenticate`
 * challenge — `null` for no header, `"none"` for a Bearer challenge without `error` (RFC 6750 §3.1), else the
 * `error` value.
 */
export interface ExpectedRefusal {
  readonly status: number;
  readonly challenge: string | null;
}

/** How one request ended: as expected served, as expected refused, or not as expected. */
export type RequestResult = "ok" | "refused" | "failed";

/** One request of the run. */
export interface RequestRecord {
  readonly round: string;
  readonly client: string;
  readonly tenantId: string;
  readonly step: StepName;
  /** HTTP status; 0 when no HTTP answer came (network error, msal error without status). */
  readonly status: number;
  readonly result: RequestResult;
  /** For refusals and failures: `401 invalid_token`, `404 tenant_not_onboarded`, `AADSTS50126`, `ECONNRESET`… */
  readonly reason?: string;
  /** The gateway's own reason code, when the run could observe it (logs or metrics). */
  gatewayReason?: string;
  /** SHA-256 fingerprint (12 hex) of the bearer token sent, as the gateway logs it. */
  readonly tokenFp?: string;
  readonly ms: number;
  /** The gateway the client talks to (its origin), when the run spreads clients over several. */
  readonly gateway?: string;
}

/** What a round asks of every client. */
export interface RoundPlan {
  readonly name: string;
  /** Present tokens held from an earlier round (else fetch new ones first). */
  readonly reuseTokens: (client: PlannedClient) => boolean;
  /** Tenants whose Entra authentication is off at the gateway during this round. */
  readonly disabledTenants: ReadonlySet<string>;
  /** Keys no longer published: held tokens signed by them must be refused. */
  readonly revokedKids: ReadonlySet<string>;
}

/** What a client keeps between rounds. */
export interface ClientState {
  info?: AuthInfo | undefined;
  /** The token used with the gateway for `/CCM_STS` and content (device token, else user token). */
  entra?: HeldToken | undefined;
  /** The user's token for AdminService (may be the same as `entra` for user-only clients). */
  user?: HeldToken | undefined;
  smsId?: string | undefined;
}

/** The CMG IDs clients use: management points (spread over the clients) and the site (AdminService). */
export interface CmgIds {
  readonly mpIds: readonly string[];
  readonly siteId: string;
}

/** Everything a client needs to run. */
export interface ClientContext {
  readonly http: HttpClient;
  readonly tokens: TokenSource;
  readonly gatewayUrl: string;
  /** CMG IDs from `stack.json` (`mp.mps`); absent: plain management point paths. */
  readonly cmg?: CmgIds | undefined;
  readonly contentBytes: number;
  readonly record: (r: RequestRecord) => void;
}

/** The gateway log's identity of a token: the first 12 hex digits of its SHA-256 (docs/architecture.md § Observability). */
export function tokenFingerprint(token: string): string {
  return createHash("sha256").update(token).digest("hex").slice(0, 12);
}

/** `"<status> <error>"`: the challenge's `error`, else the JSON body's `error`, else the status alone. */
export function answerReason(answer: HttpAnswer): string {
  const error = bearerError(answer) ?? stringProperty(jsonOf(answer), "error");
  return error === undefined ? String(answer.status) : `${answer.status} ${error}`;
}

/** Judges an answer against an expectation (`"ok"`: any 2xx). */
export function judge(answer: HttpAnswer, expect: "ok" | ExpectedRefusal): { result: RequestResult; reason?: string } {
  if (expect === "ok") {
    return answer.status >= 200 && answer.status < 300
      ? { result: "ok" }
      : { result: "failed", reason: answerReason(answer) };
  }
  const raw = answer.headers["www-authenticate"];
  const header = Array.isArray(raw) ? raw.join(", ") : raw;
  const challenge = header === undefined ? null : /^Bearer\b/i.test(header) ? (bearerError(answer) ?? "none") : header;
  const matches = answer.status === expect.status && challenge === expect.challenge;
  const reason = answerReason(answer);
  return matches
    ? { result: "refused", reason }
    : {
        result: "failed",
        reason: `${reason} (expected ${expect.status} ${expect.challenge === null ? "without challenge" : expect.challenge})`,
      };
}

/** A refusal for a tenant whose Entra authentication is off (docs/architecture.md § Rejections: 403, no challenge). */
export const TENANT_DISABLED: ExpectedRefusal = { status: 403, challenge: null };
/** `AADAuthInfo` for a tenant that is not onboarded (or disabled). */
export const NOT_ONBOARDED: ExpectedRefusal = { status: 404, challenge: null };
/** A token the gateway no longer accepts (revoked key, expired…): 401 `invalid_token`. */
export const INVALID_TOKEN: ExpectedRefusal = { status: 401, challenge: "invalid_token" };

const REGISTRATION_AGENT = "5.00.9128.1007";

function ccmMessage(target: string, hostname: string, payload: string): string {
  return (
    `<Msg SchemaVersion="1.1"><ID>{${randomUUID().toUpperCase()}}</ID><SourceHost>${hostname}</SourceHost>` +
    `<TargetEndpoint>${target}</TargetEndpoint><ReplyMode>Sync</ReplyMode>` +
    `<Payload><![CDATA[${payload}]]></Payload></Msg>`
  );
}

function registrationRequest(c: PlannedClient): string {
  const fqdn = `${c.hostname.toLowerCase()}.${c.tenant.name}`;
  return (
    `<ClientRegistrationRequest><Data RequestType="Registration" TimeStamp="${new Date().toISOString()}">` +
    `<AgentInformation AgentIdentity="CCMSetup.exe" AgentVersion="${REGISTRATION_AGENT}" AgentType="0"/>` +
    `<DiscoveryProperties><Property Name="Netbios Name" Value="${c.hostname}"/>` +
    `<Property Name="FQ Name" Value="${fqdn}"/><Property Name="Locale ID" Value="1033"/>` +
    `<Property Name="InternetFlag" Value="1"/></DiscoveryProperties></Data></ClientRegistrationRequest>`
  );
}

function policyRequest(c: PlannedClient, smsId: string): string {
  return (
    `<RequestAssignments SchemaVersion="1.00" ACK="false" RequestType="Always"><Identification><Machine>` +
    `<ClientID>${smsId}</ClientID><NetBIOSName>${c.hostname}</NetBIOSName></Machine></Identification>` +
    `<PolicySource>SMS:PS1</PolicySource><Resource ResourceType="Machine"/><ServerCookie/></RequestAssignments>`
  );
}

/** The request URL bases of one client: CMG forms when the stack has CMG IDs, else plain MP paths. */
export interface ClientPaths {
  readonly aadAuthInfo: string;
  /** `…/CCM_STS` is appended. */
  readonly sts: string;
  /** `…/ccm_system_tokenauth/request`, `…/CCM_Client/…` are appended. */
  readonly mp: string;
  /** `…/AdminService/…` is appended. */
  readonly site: string;
}

/**
 * The paths a client calls. Each client keeps one MP (by its number); every other client (per MP) writes the
 * prefixes in upper case and exchanges tokens on ServerAuth, the rest on MutualAuth, as both occur in real
 * client logs.
 *
 * @param gatewayUrl the gateway's origin
 * @param cmg the stack's CMG IDs, if any
 * @param clientId the client's `c0001`-style ID
 */
export function clientPaths(gatewayUrl: string, cmg: CmgIds | undefined, clientId: string): ClientPaths {
  const aadAuthInfo = `${gatewayUrl}/CCM_Proxy_ServerAuth/AADAuthInfo`;
  if (cmg === undefined || cmg.mpIds.length === 0) {
    return { aadAuthInfo, sts: gatewayUrl, mp: gatewayUrl, site: gatewayUrl };
  }
  const n = Number.parseInt(clientId.replace(/\D/g, ""), 10) || 0;
  const mpId = cmg.mpIds[n % cmg.mpIds.length]!;
  // The prefix's case alternates independently of the MP, so every MP sees both forms.
  const upper = Math.floor(n / cmg.mpIds.length) % 2 === 1;
  const serverAuth = upper ? "CCM_PROXY_SERVERAUTH" : "CCM_Proxy_ServerAuth";
  return {
    aadAuthInfo,
    sts: upper ? `${gatewayUrl}/${serverAuth}/${mpId}` : `${gatewayUrl}/CCM_Proxy_MutualAuth/${mpId}`,
    mp: `${gatewayUrl}/${serverAuth}/${mpId}`,
    site: `${gatewayUrl}/${serverAuth}/${cmg.siteId}`,
  };
}

/** Runs one client's round; returns how it ended (failed if any request failed, else refused if any was). */
export async function runClientRound(
  ctx: ClientContext,
  c: PlannedClient,
  state: ClientState,
  plan: RoundPlan,
): Promise<RequestResult> {
  let worst: RequestResult = "ok";
  const note = (result: RequestResult) => {
    if (result === "failed" || (result === "refused" && worst === "ok")) worst = result;
  };
  const call = async (
    step: StepName,
    expect: "ok" | ExpectedRefusal,
    request: Parameters<HttpClient["send"]>[0],
    bearer?: string,
  ): Promise<HttpAnswer | undefined> => {
    const headers: Record<string, string> = { ...request.headers };
    if (bearer !== undefined) headers.authorization = `Bearer ${bearer}`;
    const base = {
      round: plan.name,
      client: c.id,
      tenantId: c.tenant.id,
      step,
      ...(bearer !== undefined ? { tokenFp: tokenFingerprint(bearer) } : {}),
    };
    let answer: HttpAnswer;
    try {
      answer = await ctx.http.send({ ...request, headers });
    } catch (err) {
      const e = err as { code?: string; message?: string };
      ctx.record({ ...base, status: 0, result: "failed", reason: e.code ?? e.message ?? "network_error", ms: 0 });
      note("failed");
      return undefined;
    }
    const verdict = judge(answer, expect);
    ctx.record({ ...base, status: answer.status, ms: answer.ms, ...verdict });
    note(verdict.result);
    return verdict.result === "ok" ? answer : undefined;
  };
  const paths = clientPaths(ctx.gatewayUrl, ctx.cmg, c.id);

  const authInfo = async (expect: "ok" | ExpectedRefusal): Promise<AuthInfo | undefined> => {
    const answer = await call("aad-auth-info", expect, {
      method: "GET",
      url: `${paths.aadAuthInfo}?TenantID=${c.tenant.id}`,
    });
    if (!answer) return undefined;
    const body = jsonOf(answer) as Partial<AuthInfo> | undefined;
    if (!body?.ClientAppId || !body.ResourceUri || !body.Authority || !body.TenantId) {
      ctx.record({
        round: plan.name,
        client: c.id,
        tenantId: c.tenant.id,
        step: "aad-auth-info",
        status: answer.status,
        result: "failed",
        reason: "aadauthinfo_incomplete",
        ms: 0,
      });
      note("failed");
      return undefined;
    }
    return body as AuthInfo;
  };

  const grant = async (step: "device-token" | "user-token", get: () => Promise<HeldToken>) => {
    const started = performance.now();
    try {
      const token = await get();
      ctx.record({
        round: plan.name,
        client: c.id,
        tenantId: c.tenant.id,
        step,
        status: 200,
        result: "ok",
        ms: performance.now() - started,
      });
      return token;
    } catch (err) {
      const e = err as TokenError | Error;
      const reason =
        e instanceof TokenError ? `${e.status || "msal"} ${e.error}: ${e.message}`.slice(0, 160) : e.message;
      ctx.record({
        round: plan.name,
        client: c.id,
        tenantId: c.tenant.id,
        step,
        status: e instanceof TokenError ? e.status : 0,
        result: "failed",
        reason,
        ms: performance.now() - started,
      });
      note("failed");
      return undefined;
    }
  };

  const userToken = (info: AuthInfo) =>
    grant("user-token", () => ctx.tokens.userToken(info, c.user!.upn, c.user!.password));

  // Fallback order of a real client (docs/architecture.md § Configuration Manager specifics): device token, then user token.
  const entraToken = async (info: AuthInfo): Promise<HeldToken | undefined> => {
    if (c.deviceId !== undefined) {
      const device = await grant("device-token", () => ctx.tokens.deviceToken(info, c.tenant.cloud, c.deviceId!));
      if (device || !c.user) return device;
    }
    return c.user ? userToken(info) : undefined;
  };

  // A tenant turned off at the gateway: the held token is refused on the very next request, and the
  // gateway stops onboarding the tenant.
  if (c.profile === "probe" || plan.disabledTenants.has(c.tenant.id)) {
    const held = c.profile === "admin" ? state.user : state.entra;
    if (held && c.profile !== "probe") {
      if (c.profile === "admin") {
        await call("admin-service", TENANT_DISABLED, adminServiceRequest(paths.site, c), held.token);
      } else {
        await call("ccm-sts", TENANT_DISABLED, stsRequest(paths.sts), held.token);
      }
    }
    await authInfo(NOT_ONBOARDED);
    state.entra = undefined;
    state.user = undefined;
    state.info = undefined;
    return worst;
  }

  const reuse = plan.reuseTokens(c);
  const holdOrDrop = async (held: HeldToken | undefined, step: "ccm-sts" | "admin-service") => {
    if (!reuse || !held) return undefined;
    if (!plan.revokedKids.has(held.kid)) return held;
    // The key is gone: the gateway must refuse the token; the client then gets a new one.
    await call(
      step,
      INVALID_TOKEN,
      step === "ccm-sts" ? stsRequest(paths.sts) : adminServiceRequest(paths.site, c),
      held.token,
    );
    return undefined;
  };

  if (c.profile === "admin") {
    let user = await holdOrDrop(state.user, "admin-service");
    if (!user) {
      state.info = await authInfo("ok");
      if (!state.info) return worst;
      // Administration Service Management: AdminService tooling signs in with its own apps (the tenant's
      // cloud management tokens no longer reach /AdminService/).
      const asm = c.tenant.adminServiceApp;
      const info =
        asm === undefined
          ? state.info
          : { ...state.info, ClientAppId: asm.clientApp.clientId, ResourceUri: asm.serverApp.appIdUri };
      user = await userToken(info);
      if (!user) return worst;
      state.user = user;
    }
    await call("admin-service", "ok", adminServiceRequest(paths.site, c), user.token);
    return worst;
  }

  let entra = await holdOrDrop(state.entra, "ccm-sts");
  if (!entra || !state.info) {
    state.info = await authInfo("ok");
    if (!state.info) return worst;
    entra = await entraToken(state.info);
    if (!entra) return worst;
    state.entra = entra;
    if (entra.kind === "user") state.user = entra;
  }
  const sts = await call("ccm-sts", "ok", stsRequest(paths.sts), entra.token);
  const ccmToken = sts ? stringProperty(jsonOf(sts), "token") : undefined;
  if (ccmToken !== undefined) {
    const reg = await call(
      "registration",
      "ok",
      {
        method: "POST",
        url: `${paths.mp}/ccm_system_tokenauth/request`,
        headers: { "content-type": "text/xml" },
        body: ccmMessage("MP_ClientRegistration", c.hostname, registrationRequest(c)),
      },
      ccmToken,
    );
    const smsId = reg ? /SMSID="([^"]+)"/.exec(reg.text)?.[1] : undefined;
    if (smsId !== undefined) {
      state.smsId = smsId;
      await call(
        "policy",
        "ok",
        {
          method: "POST",
          url: `${paths.mp}/ccm_system_tokenauth/request`,
          headers: { "content-type": "text/xml" },
          body: ccmMessage("MP_PolicyManager", c.hostname, policyRequest(c, smsId)),
        },
        ccmToken,
      );
    }
  }
  await call(
    "content",
    "ok",
    {
      method: "GET",
      url: `${paths.mp}/CCM_Client/PS100004/${c.id}/ccmsetup.cab?size=${ctx.contentBytes}`,
      discardBody: true,
    },
    entra.token,
  );

  // A tenant with Administration Service Management: AdminService is for its own app ("admin" clients).
  if (c.user && c.tenant.adminServiceManagement !== true) {
    let user = entra.kind === "user" ? entra : await holdOrDrop(state.user, "admin-service");
    if (!user) {
      user = await userToken(state.info);
      if (!user) return worst;
      state.user = user;
    }
    await call("admin-service", "ok", adminServiceRequest(paths.site, c), user.token);
  }
  return worst;
}

/** `POST {base}/CCM_STS` (an empty JSON object, as the MP accepts); `base` is the gateway or a CMG prefix. */
export function stsRequest(base: string): Parameters<HttpClient["send"]>[0] {
  return { method: "POST", url: `${base}/CCM_STS`, headers: { "content-type": "application/json" }, body: "{}" };
}

function adminServiceRequest(base: string, c: PlannedClient): Parameters<HttpClient["send"]>[0] {
  const filter = encodeURIComponent(`UserPrincipalName eq '${c.user?.upn ?? ""}'`);
  return { method: "GET", url: `${base}/AdminService/v1.0/User?$filter=${filter}` };
}

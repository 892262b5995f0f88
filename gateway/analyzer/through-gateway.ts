/**
 * Analyzer stages 4 and 5 — what a client sees at the gateway's listener, over HTTPS as a client calls it:
 *
 * 4. `GET /CCM_Proxy_ServerAuth/AADAuthInfo?TenantID={tid}`: the running gateway onboards the tenant and
 *    names the client app and resource this configuration has (a gateway running another file would not);
 * 5. `POST /CCM_Proxy_ServerAuth/{MP or site ID}/CCM_STS` with the stage-3 token (plain `/CCM_STS` when the
 *    configuration has no CMG IDs): the gateway accepts the token and the management point behind it answers.
 *
 * The gateway's TLS certificate is checked against the public roots plus the CAs the caller adds.
 */
import { X509Certificate } from "node:crypto";
import { rootCertificates, type TLSSocket } from "node:tls";
import { Agent, buildConnector } from "undici";
import type { TenantEntry } from "../auth/tenants.js";
import { readBoundedText } from "./bounded-body.js";
import { classifyNetworkError } from "./hints.js";
import type { StageOutcome } from "./stage.js";

/** Largest gateway answer read. */
const MAX_ANSWER_BYTES = 1024 * 1024;

/** An HTTP answer of the gateway. */
interface Answer {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly text: string;
}

/** Calls the gateway's listener. */
export interface GatewayClient {
  readonly url: string;
  send(
    method: "GET" | "POST",
    path: string,
    init: { readonly headers?: Record<string, string>; readonly body?: string; readonly signal: AbortSignal },
  ): Promise<Answer>;
  close(): Promise<void>;
}

/**
 * A connector that trusts exactly one certificate, compared byte for byte — no CA, no host name. For a run
 * from inside the gateway (the console), which knows the certificate its own listener serves.
 */
function pinnedConnector(pem: string, timeoutMs: number): buildConnector.connector {
  const pinned = new X509Certificate(pem).raw;
  const connect = buildConnector({ rejectUnauthorized: false, timeout: timeoutMs });
  return (options, callback) =>
    connect(options, (err, socket) => {
      if (err !== null) return callback(err, null);
      const presented = (socket as TLSSocket).getPeerCertificate?.().raw;
      if (presented === undefined || !presented.equals(pinned)) {
        socket.destroy();
        return callback(
          new Error("the listener presented another certificate than the one it is configured with"),
          null,
        );
      }
      return callback(null, socket);
    });
}

/**
 * Creates the client.
 *
 * @param url the gateway's origin, e.g. `https://gateway.contoso.com` or `https://127.0.0.1:8443`
 * @param extraCaPems CAs to trust besides the public roots (the CA of the gateway's certificate)
 * @param timeoutMs connect, headers and body limit of each request
 * @param pinnedCertificatePem when given, the one certificate trusted (instead of any CA)
 */
export function createGatewayClient(
  url: string,
  extraCaPems: readonly string[],
  timeoutMs: number,
  pinnedCertificatePem?: string,
): GatewayClient {
  const origin = new URL(url).origin;
  const agent = new Agent({
    connect:
      pinnedCertificatePem === undefined
        ? { ca: [...rootCertificates, ...extraCaPems], timeout: timeoutMs }
        : pinnedConnector(pinnedCertificatePem, timeoutMs),
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
  });
  return {
    url: origin,
    async send(method, path, init) {
      const res = await agent.request({
        origin,
        path,
        method,
        headers: init.headers ?? {},
        ...(init.body === undefined ? {} : { body: init.body }),
        signal: init.signal,
      });
      return { status: res.statusCode, headers: res.headers, text: await readBoundedText(res.body, MAX_ANSWER_BYTES) };
    },
    close: () => agent.close(),
  };
}

/** A stage outcome for a request that got no HTTP answer. */
function unreachable(client: GatewayClient, err: unknown, what: string): StageOutcome {
  const failure = classifyNetworkError(err);
  const hints: Record<string, string> = {
    refused: `nothing listens at ${client.url}: start the gateway (\`entra-gateway serve\`), or point --gateway at its listener (listen.host and listen.port in the config)`,
    unreachable: `${client.url} cannot be reached from here: check the host name (--gateway) and the network path`,
    tls: `the gateway's TLS certificate is not trusted here: give the CA that signed it with --ca FILE (listen.certFile's issuer)`,
    timeout: `${client.url} did not answer in time: is the listener overloaded, or is another service on that port?`,
    other: `check that ${client.url} is the gateway's listener (listen.host and listen.port)`,
  };
  return { status: "fail", detail: `${what}: ${failure.text}`, hint: hints[failure.kind] ?? hints.other! };
}

function jsonObject(text: string): Record<string, unknown> | undefined {
  try {
    const value = JSON.parse(text) as unknown;
    return typeof value === "object" && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Stage 4: AADAuthInfo through the gateway.
 *
 * @param client the gateway client
 * @param tenant the tenant as this configuration registers it
 * @param signal aborts the request (stage timeout)
 */
export async function checkAadAuthInfo(
  client: GatewayClient,
  tenant: TenantEntry,
  signal: AbortSignal,
): Promise<StageOutcome> {
  const path = `/CCM_Proxy_ServerAuth/AADAuthInfo?TenantID=${tenant.tenantId}`;
  let answer: Answer;
  try {
    answer = await client.send("GET", path, { headers: { accept: "application/json" }, signal });
  } catch (err) {
    return unreachable(client, err, `GET ${client.url}${path}`);
  }
  if (answer.status === 404) {
    return {
      status: "fail",
      detail: `GET ${path}: HTTP 404, the gateway does not onboard tenant ${tenant.tenantId}`,
      hint: tenant.disabled
        ? "Entra authentication is disabled for this tenant in the config (disableAuthentication): `entra-gateway services enable-auth`"
        : "the tenant is disabled at the running gateway (admin API or `services disable-auth`), or the gateway runs another configuration: enable it, or reload the gateway (POST /config/reload, SIGHUP)",
    };
  }
  if (answer.status !== 200) {
    return {
      status: "fail",
      detail: `GET ${path}: HTTP ${answer.status} ${answer.text.slice(0, 120)}`,
      hint: `is ${client.url} the gateway? AADAuthInfo is answered by the gateway itself`,
    };
  }
  const body = jsonObject(answer.text) ?? {};
  const expected = { ClientAppId: tenant.clientAppId, ResourceUri: tenant.appIdUri };
  const wrong = Object.entries(expected).filter(([field, value]) => body[field] !== value);
  if (wrong.length > 0) {
    return {
      status: "fail",
      detail: `GET ${path}: ${wrong.map(([f, v]) => `${f} ${JSON.stringify(body[f])}, the config says ${JSON.stringify(v)}`).join("; ")}`,
      hint: "the running gateway has another configuration than this file: reload it (POST /config/reload, SIGHUP) or analyze the file it runs",
    };
  }
  return {
    status: "pass",
    detail: `client app ${String(body.ClientAppId)}, resource ${String(body.ResourceUri)}, authority ${String(body.Authority)}`,
  };
}

/** The `error` of a Bearer challenge, if any. */
function challengeError(headers: Answer["headers"]): string | undefined {
  const raw = headers["www-authenticate"];
  const value = Array.isArray(raw) ? raw.join(", ") : raw;
  return value === undefined ? undefined : (/error="([^"]*)"/.exec(value)?.[1] ?? "no error code");
}

/**
 * Stage 5: `CCM_STS` through the gateway to the management point.
 *
 * @param client the gateway client
 * @param path the request path (CMG form, or plain `/CCM_STS`)
 * @param token the stage-3 token (sent, never shown)
 * @param explainRefusal says why the gateway refuses the token (the authenticator's verdict), for the hint
 * @param signal aborts the request (stage timeout)
 */
export async function checkCcmSts(
  client: GatewayClient,
  path: string,
  token: string,
  explainRefusal: () => Promise<string | undefined>,
  signal: AbortSignal,
): Promise<StageOutcome> {
  let answer: Answer;
  try {
    answer = await client.send("POST", path, {
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: "{}",
      signal,
    });
  } catch (err) {
    return unreachable(client, err, `POST ${client.url}${path}`);
  }
  if (answer.status >= 200 && answer.status < 300) {
    const ccm = jsonObject(answer.text)?.token;
    return {
      status: "pass",
      detail: `POST ${path}: HTTP ${answer.status} from the management point${typeof ccm === "string" ? ", CCM token issued" : ""}`,
    };
  }
  const detail = `POST ${path}: HTTP ${answer.status}`;
  if (answer.status === 401 || answer.status === 403) {
    const why = await explainRefusal().catch(() => undefined);
    return {
      status: "fail",
      detail: `${detail}, ${challengeError(answer.headers) ?? "no challenge"}: the gateway refused the token`,
      hint: `${why === undefined ? "" : `the gateway's reason: ${why}; `}run \`entra-gateway explain-token --path ${path}\` with the token for every step`,
    };
  }
  if (answer.status === 503) {
    return {
      status: "fail",
      detail: `${detail} (Retry-After ${String(answer.headers["retry-after"] ?? "-")})`,
      hint: "the gateway has no usable keys for this tenant (keys_unavailable) or no upstream capacity: see GET /readyz and the JWKS metrics",
    };
  }
  if (answer.status === 502 || answer.status === 504) {
    return {
      status: "fail",
      detail: `${detail}: the gateway accepted the token but could not reach the management point`,
      hint: "check upstream.url / managementPoints, the MP's CA (upstream.caFile) and the gateway's client certificate",
    };
  }
  if (answer.status === 404) {
    return {
      status: "fail",
      detail: `${detail}: ${answer.text.slice(0, 120)}`,
      hint: "the CMG ID is not one of managementPoints (give --mp ID), or no route rule covers /CCM_STS",
    };
  }
  return {
    status: "fail",
    detail: `${detail}: ${answer.text.slice(0, 120)}`,
    hint: "see the gateway's log line for this request",
  };
}

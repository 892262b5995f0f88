/**
 * How does discovery get a Microsoft Graph token? msal-node client credentials with the server app's
 * secret (docs/architecture.md § msal-node against a local authority).
 *
 * msal throttles: after a 429/5xx or any `Retry-After` it records a throttle entry in the *application
 * instance's* cache and refuses identical requests (60 s by default, up to an hour) without touching the
 * network. Discovery does its own backoff and honours `Retry-After` itself, so after a transient failure
 * this module drops the `ConfidentialClientApplication` and builds a fresh one for the next attempt: its
 * empty cache holds no throttle entry, and the next retry really reaches Entra. The network client is
 * wrapped to see the token endpoint's status and `Retry-After`, which msal's errors do not carry.
 */
import {
  AuthError,
  ConfidentialClientApplication,
  type INetworkModule,
  type NetworkRequestOptions,
  type NetworkResponse,
  ServerError,
} from "@azure/msal-node";

/** A failure to get a token, classified for the retry policy. */
export class TokenAcquisitionError extends Error {
  /** Worth retrying soon (network, 429/5xx, msal throttling). */
  readonly transient: boolean;
  /** `AADSTS…` code of Entra's answer, if any. */
  readonly aadsts: string | undefined;
  /** OAuth `error` (e.g. `invalid_client`). */
  readonly errorCode: string;
  readonly status: number | undefined;
  readonly retryAfterMs: number | undefined;
  constructor(fields: {
    message: string;
    transient: boolean;
    aadsts?: string | undefined;
    errorCode: string;
    status?: number | undefined;
    retryAfterMs?: number | undefined;
  }) {
    super(fields.message);
    this.name = "TokenAcquisitionError";
    this.transient = fields.transient;
    this.aadsts = fields.aadsts;
    this.errorCode = fields.errorCode;
    this.status = fields.status;
    this.retryAfterMs = fields.retryAfterMs;
  }
}

/** Options of {@link createGraphTokenSource}. */
export interface GraphTokenSourceOptions {
  readonly tenantId: string;
  readonly clientId: string;
  readonly clientSecret: string;
  /** Authority URL, e.g. `https://127.0.0.1:4000/{tenantId}`. */
  readonly authority: string;
  /** Hosts (with port) msal may trust without Microsoft's instance discovery. */
  readonly knownAuthorities: readonly string[];
  /** e.g. `https://graph.microsoft.com/.default`. */
  readonly scope: string;
  readonly networkClient: INetworkModule;
}

/** Hands out Graph app tokens for one tenant. */
export interface GraphTokenSource {
  /** A valid token (msal's cache first); throws {@link TokenAcquisitionError}. */
  acquire(): Promise<string>;
  /** Forgets the application instance and its cache (e.g. after Graph refused the token). */
  reset(): void;
  /** Number of `ConfidentialClientApplication` instances built so far. */
  readonly instances: number;
}

/** Parses `Retry-After` (seconds or HTTP date, RFC 9110 §10.2.3) into milliseconds. */
export function parseRetryAfter(value: string | undefined, nowMs = Date.now()): number | undefined {
  if (value === undefined || value.trim() === "") return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs);
}

/** Creates the token source of one tenant. */
export function createGraphTokenSource(options: GraphTokenSourceOptions): GraphTokenSource {
  let app: ConfidentialClientApplication | undefined;
  let instances = 0;
  type Seen = { status: number; retryAfter: string | undefined };
  let lastGet: Seen | undefined;
  let lastPost: Seen | undefined;
  // Read through functions: the network client assigns these while msal runs.
  const observedResponse = (): Seen | undefined => lastPost ?? lastGet;
  const postSent = (): boolean => lastPost !== undefined;

  // Sees every response msal receives, so a failure can be classified by status and Retry-After.
  const observed: INetworkModule = {
    async sendGetRequestAsync<T>(url: string, opts?: NetworkRequestOptions): Promise<NetworkResponse<T>> {
      const res = await options.networkClient.sendGetRequestAsync<T>(url, opts);
      lastGet = { status: res.status, retryAfter: res.headers["retry-after"] };
      return res;
    },
    async sendPostRequestAsync<T>(url: string, opts?: NetworkRequestOptions): Promise<NetworkResponse<T>> {
      const res = await options.networkClient.sendPostRequestAsync<T>(url, opts);
      lastPost = { status: res.status, retryAfter: res.headers["retry-after"] };
      return res;
    },
  };

  const build = () => {
    instances += 1;
    return new ConfidentialClientApplication({
      auth: {
        clientId: options.clientId,
        clientSecret: options.clientSecret,
        authority: options.authority,
        knownAuthorities: [...options.knownAuthorities],
      },
      system: { networkClient: observed },
    });
  };

  return {
    get instances() {
      return instances;
    },
    reset() {
      app = undefined;
    },
    async acquire() {
      app ??= build();
      lastGet = undefined;
      lastPost = undefined;
      try {
        const result = await app.acquireTokenByClientCredential({ scopes: [options.scope] });
        if (!result?.accessToken) {
          throw new TokenAcquisitionError({
            message: "msal returned no token",
            transient: true,
            errorCode: "no_token",
          });
        }
        return result.accessToken;
      } catch (err) {
        if (err instanceof TokenAcquisitionError) throw err;
        const seen = observedResponse();
        const status = seen?.status;
        const text = err instanceof AuthError ? `${err.errorCode}: ${err.errorMessage}` : String(err);
        const aadsts = /AADSTS(\d+)/.exec(text)?.[1];
        // Transient: no answer at all (network), 429/5xx, or msal's own throttle (a ServerError raised with
        // no request sent). Permanent: Entra answered 4xx (wrong secret, unknown app, unknown tenant…).
        const throttledByMsal = err instanceof ServerError && !postSent();
        const transient =
          throttledByMsal || status === undefined || status === 429 || status >= 500 || !(err instanceof AuthError);
        // A fresh instance next time: it holds no throttle entry (see the module comment).
        if (transient) app = undefined;
        throw new TokenAcquisitionError({
          message: aadsts ? `AADSTS${aadsts}: ${describe(err)}` : describe(err),
          transient,
          aadsts: aadsts ? `AADSTS${aadsts}` : undefined,
          errorCode: err instanceof AuthError ? err.errorCode : "network_error",
          status,
          retryAfterMs: parseRetryAfter(seen?.retryAfter),
        });
      }
    },
  };
}

/** msal's description without its trace/correlation boilerplate. */
function describe(err: unknown): string {
  if (err instanceof AuthError) {
    const description = /Description: (.*?)(?: Trace ID:| - Correlation ID:|$)/s.exec(err.errorMessage)?.[1];
    const text = (description ?? err.errorMessage).replace(/^AADSTS\d+:\s*/, "").trim();
    return `${err.errorCode}${text ? `: ${text}` : ""}`;
  }
  return err instanceof Error ? err.message : String(err);
}

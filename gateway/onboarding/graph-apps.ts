/**
 * The Microsoft Graph calls the Azure Services Wizard makes for app registrations (`/v1.0/applications`,
 * `addPassword`, `removePassword`, `/v1.0/servicePrincipals`, `/v1.0/organization`), with the administrator's
 * token. Errors keep Graph's `error.code` and `error.message`.
 */
import type { EntraEndpoints } from "./entra-endpoints.js";

/** Microsoft Graph's application ID (the same in every cloud). */
export const GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000";

/** Graph's application permission `Directory.Read.All` (Entra user discovery reads users with it). */
export const DIRECTORY_READ_ALL_ROLE_ID = "7ab1d382-f21e-4acd-a863-ba3e13f7da61";

/** A Graph call that failed. */
export class GraphRequestError extends Error {
  /**
   * @param status HTTP status
   * @param code Graph's `error.code`, e.g. `Authorization_RequestDenied`
   * @param message Graph's `error.message`
   */
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(`Microsoft Graph answered ${status} ${code}: ${message}`);
  }
}

/** The parts of Graph's `application` resource the wizard reads. */
export interface GraphApplication {
  /** Object ID. */
  readonly id: string;
  /** Application (client) ID. */
  readonly appId: string;
  readonly displayName: string;
  readonly identifierUris?: readonly string[];
  readonly api?: {
    readonly requestedAccessTokenVersion?: number | null;
    readonly oauth2PermissionScopes?: readonly GraphPermissionScope[];
  };
  readonly publicClient?: { readonly redirectUris?: readonly string[] };
  readonly web?: { readonly redirectUris?: readonly string[]; readonly homePageUrl?: string | null };
  readonly passwordCredentials?: readonly GraphPasswordCredential[];
  readonly requiredResourceAccess?: readonly GraphResourceAccess[];
}

/** A delegated permission an API exposes. */
export interface GraphPermissionScope {
  readonly id?: string;
  readonly value: string;
  readonly type?: string;
  readonly isEnabled?: boolean;
  readonly adminConsentDisplayName?: string;
  readonly adminConsentDescription?: string;
  readonly userConsentDisplayName?: string;
  readonly userConsentDescription?: string;
}

/** Permissions an app asks of one resource. */
export interface GraphResourceAccess {
  readonly resourceAppId: string;
  readonly resourceAccess: readonly { readonly id: string; readonly type: "Role" | "Scope" }[];
}

/** A client secret as Graph lists it (the value itself only in `addPassword`'s answer). */
export interface GraphPasswordCredential {
  readonly keyId: string;
  readonly displayName?: string | null;
  readonly hint?: string | null;
  readonly startDateTime?: string;
  readonly endDateTime?: string;
  readonly secretText?: string | null;
}

/** A secret just added: its value is known this once. */
export interface NewPasswordCredential {
  readonly keyId: string;
  readonly hint: string;
  readonly endDateTime: string;
  readonly secretText: string;
}

/** The tenant as `/v1.0/organization` describes it. */
export interface GraphOrganization {
  readonly id: string;
  readonly displayName: string;
  /** The initial (`*.onmicrosoft.com`) domain, else the default one. */
  readonly initialDomain: string | undefined;
}

/** Graph calls with one administrator token. */
export interface GraphAppsClient {
  organization(): Promise<GraphOrganization>;
  /** The application with this client ID, or undefined. */
  findApplication(appId: string): Promise<GraphApplication | undefined>;
  createApplication(body: Record<string, unknown>): Promise<GraphApplication>;
  patchApplication(objectId: string, body: Record<string, unknown>): Promise<void>;
  /** Creates the app's service principal; one that already exists (409) is fine. */
  ensureServicePrincipal(appId: string): Promise<void>;
  addPassword(objectId: string, displayName: string, endDateTime: string): Promise<NewPasswordCredential>;
  removePassword(objectId: string, keyId: string): Promise<void>;
}

/**
 * Creates a Graph client for app registrations.
 *
 * @param endpoints where Graph is and which CA to trust
 * @param accessToken the administrator's Graph token (see `admin-sign-in.ts`)
 */
export function createGraphAppsClient(endpoints: EntraEndpoints, accessToken: string): GraphAppsClient {
  async function call<T>(method: "GET" | "POST" | "PATCH", path: string, body?: unknown): Promise<T> {
    const target = new URL(`${endpoints.graphUrl}${path}`);
    const res = await endpoints.dispatcher.request({
      origin: target.origin,
      path: `${target.pathname}${target.search}`,
      method,
      headers: {
        authorization: `Bearer ${accessToken}`,
        accept: "application/json",
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.body.text();
    let parsed: unknown;
    try {
      parsed = text === "" ? undefined : JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    if (res.statusCode >= 400) {
      const error =
        typeof parsed === "object" && parsed !== null && "error" in parsed
          ? (parsed as { error: { code?: unknown; message?: unknown } }).error
          : {};
      throw new GraphRequestError(
        res.statusCode,
        typeof error.code === "string" ? error.code : "UnknownError",
        typeof error.message === "string" ? error.message : text.slice(0, 200),
      );
    }
    return parsed as T;
  }

  return {
    async organization() {
      const body = await call<{ value: { id: string; displayName: string; verifiedDomains?: unknown }[] }>(
        "GET",
        "/v1.0/organization",
      );
      const org = body.value[0];
      if (org === undefined) throw new GraphRequestError(404, "Request_ResourceNotFound", "no organization");
      const domains = Array.isArray(org.verifiedDomains)
        ? (org.verifiedDomains as { name?: unknown; isInitial?: unknown; isDefault?: unknown }[])
        : [];
      const initial = domains.find((d) => d.isInitial === true) ?? domains.find((d) => d.isDefault === true);
      return {
        id: org.id,
        displayName: org.displayName,
        initialDomain: typeof initial?.name === "string" ? initial.name : undefined,
      };
    },
    async findApplication(appId) {
      const filter = encodeURIComponent(`appId eq '${appId}'`);
      const body = await call<{ value: GraphApplication[] }>("GET", `/v1.0/applications?$filter=${filter}`);
      return body.value[0];
    },
    createApplication: (body) => call<GraphApplication>("POST", "/v1.0/applications", body),
    async patchApplication(objectId, body) {
      await call<undefined>("PATCH", `/v1.0/applications/${encodeURIComponent(objectId)}`, body);
    },
    async ensureServicePrincipal(appId) {
      try {
        await call<unknown>("POST", "/v1.0/servicePrincipals", { appId });
      } catch (err) {
        if (!(err instanceof GraphRequestError && err.status === 409)) throw err;
      }
    },
    async addPassword(objectId, displayName, endDateTime) {
      const cred = await call<GraphPasswordCredential>(
        "POST",
        `/v1.0/applications/${encodeURIComponent(objectId)}/addPassword`,
        { passwordCredential: { displayName, endDateTime } },
      );
      if (typeof cred.secretText !== "string" || cred.secretText === "") {
        throw new GraphRequestError(500, "UnknownError", "addPassword returned no secretText");
      }
      return {
        keyId: cred.keyId,
        hint: cred.hint ?? cred.secretText.slice(0, 3),
        endDateTime: cred.endDateTime ?? endDateTime,
        secretText: cred.secretText,
      };
    },
    async removePassword(objectId, keyId) {
      await call<undefined>("POST", `/v1.0/applications/${encodeURIComponent(objectId)}/removePassword`, { keyId });
    },
  };
}

/**
 * Microsoft Graph as Configuration Manager's Entra user discovery and the Azure Services Wizard use it
 * (docs/architecture.md § User discovery): `/v1.0/users` with `$select`/`$top` paging, `/v1.0/users/delta` with
 * `@odata.deltaLink` and `@removed`, `/v1.0/organization`, and app registrations (`/v1.0/applications`,
 * `addPassword`, `removePassword`, `/v1.0/servicePrincipals`). Every call needs a Graph token the emulator
 * issued, carrying the permission the call needs.
 */
import { createPublicKey, randomUUID, verify } from "node:crypto";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { CLOUDS, GRAPH_APP_ID, graphResource } from "./clouds.js";
import type { Directory, DirectoryGroup, NewApplication } from "./directory.js";
import { firstRefusedIdentifierUri, hostNameNotOnVerifiedDomainMessage } from "./identifier-uris.js";
import type { KeyStore } from "./keys.js";
import { type DirectoryApp, type DirectoryTenant, type DirectoryUser, deriveGuid } from "./seed.js";

/** Attributes `$select` may name (docs/architecture.md § User discovery's list plus a few Graph defaults). */
const USER_ATTRIBUTES = [
  "id",
  "displayName",
  "givenName",
  "surname",
  "mail",
  "mailNickname",
  "userPrincipalName",
  "accountEnabled",
  "onPremisesSecurityIdentifier",
  "onPremisesDomainName",
  "onPremisesSamAccountName",
  "onPremisesDistinguishedName",
] as const;

/**
 * Microsoft Graph permission IDs as real app manifests carry them in `requiredResourceAccess` (Graph's
 * published permission reference). The directory keeps names; requests may give either, responses give IDs.
 */
const GRAPH_PERMISSION_IDS: Readonly<Record<string, string>> = {
  "Directory.Read.All": "7ab1d382-f21e-4acd-a863-ba3e13f7da61",
  "User.Read.All": "df021288-bdef-4463-88db-98f22de89214",
  "Application.ReadWrite.All": "1bfefb4e-e0b5-418b-a88f-73c46d2cc8e9",
};

function graphPermissionName(idOrName: string): string {
  const lower = idOrName.toLowerCase();
  return Object.entries(GRAPH_PERMISSION_IDS).find(([, id]) => id === lower)?.[0] ?? idOrName;
}

/** What Graph returns when no `$select` is given. */
const DEFAULT_SELECT = ["id", "displayName", "givenName", "surname", "mail", "userPrincipalName"];
const DEFAULT_PAGE = 100;
const MAX_PAGE = 999;

/** A Graph failure: `{"error":{"code","message","innerError"}}`. */
export class GraphError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** Renders a Graph error body. */
export function graphErrorBody(err: GraphError, now: Date): Record<string, unknown> {
  return {
    error: {
      code: err.code,
      message: err.message,
      innerError: {
        date: now.toISOString().replace(/\.\d+Z$/, ""),
        "request-id": randomUUID(),
        "client-request-id": randomUUID(),
      },
    },
  };
}

interface Caller {
  readonly tenant: DirectoryTenant;
  readonly permissions: ReadonlySet<string>;
}

/** What the Graph routes need. */
export interface GraphContext {
  readonly directory: Directory;
  readonly keys: KeyStore;
  readonly now: () => number;
  readonly baseUrl: () => string;
}

/** Validates the caller's Graph token (signature by the tenant's cloud key set, audience Graph, lifetime). */
function authenticateCaller(ctx: GraphContext, req: FastifyRequest): Caller {
  const header = req.headers.authorization;
  if (!header?.startsWith("Bearer ")) throw new GraphError(401, "InvalidAuthenticationToken", "Access token is empty.");
  const parts = header.slice(7).trim().split(".");
  const invalid = new GraphError(
    401,
    "InvalidAuthenticationToken",
    "Access token validation failure. Invalid audience.",
  );
  if (parts.length !== 3) throw new GraphError(401, "InvalidAuthenticationToken", "IDX14100: JWT is not well formed.");
  let head: { kid?: unknown; alg?: unknown };
  let claims: Record<string, unknown>;
  try {
    head = JSON.parse(Buffer.from(parts[0]!, "base64url").toString("utf8"));
    claims = JSON.parse(Buffer.from(parts[1]!, "base64url").toString("utf8"));
  } catch {
    throw new GraphError(401, "InvalidAuthenticationToken", "IDX14100: JWT is not well formed.");
  }
  const tenant = typeof claims.tid === "string" ? ctx.directory.findTenant(claims.tid) : undefined;
  const key = tenant && typeof head.kid === "string" ? ctx.keys.find(tenant.id, head.kid) : undefined;
  const signatureOk =
    key !== undefined &&
    head.alg === "RS256" &&
    verify(
      "sha256",
      Buffer.from(`${parts[0]}.${parts[1]}`),
      createPublicKey(key.privateKey),
      Buffer.from(parts[2]!, "base64url"),
    );
  if (!tenant || !signatureOk) {
    throw new GraphError(401, "InvalidAuthenticationToken", "Access token validation failure. Invalid signature.");
  }
  const aud = String(claims.aud ?? "").replace(/\/+$/, "");
  if (aud !== graphResource(CLOUDS[tenant.cloud]) && aud !== GRAPH_APP_ID) throw invalid;
  if (typeof claims.exp !== "number" || claims.exp * 1000 <= ctx.now()) {
    throw new GraphError(401, "InvalidAuthenticationToken", "Lifetime validation failed, the token is expired.");
  }
  const permissions = new Set<string>([
    ...(Array.isArray(claims.roles) ? claims.roles.map(String) : []),
    ...(typeof claims.scp === "string" ? claims.scp.split(" ") : []),
  ]);
  return { tenant, permissions };
}

function requireAny(caller: Caller, ...needed: string[]): void {
  if (!needed.some((p) => caller.permissions.has(p))) {
    throw new GraphError(403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.");
  }
}

/** Group attributes `$select` may name; `members` (delta only) asks for `members@delta`. */
const GROUP_ATTRIBUTES = ["id", "displayName", "description", "mailNickname", "mailEnabled", "securityEnabled"];
const DEFAULT_GROUP_SELECT = GROUP_ATTRIBUTES;

function parseSelect(
  raw: string | undefined,
  attributes: readonly string[] = USER_ATTRIBUTES,
  defaults: readonly string[] = DEFAULT_SELECT,
  type = "user",
): string[] {
  if (raw === undefined) return [...defaults];
  const names = raw
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  const unknown = names.filter((n) => !attributes.includes(n));
  if (unknown.length > 0) {
    throw new GraphError(
      400,
      "Request_BadRequest",
      `Could not find a property named '${unknown[0]}' on type 'microsoft.graph.${type}'.`,
    );
  }
  return names.includes("id") ? names : ["id", ...names];
}

function projectGroup(group: DirectoryGroup, select: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const name of select) if (name !== "members") out[name] = group[name as keyof DirectoryGroup];
  return out;
}

/** A directory object reference as `members@delta` and `/members` carry it. */
function userRef(id: string): Record<string, unknown> {
  return { "@odata.type": "#microsoft.graph.user", id };
}

function parseTop(req: FastifyRequest, raw: string | undefined): number {
  const prefer = /odata\.maxpagesize=(\d+)/.exec(String(req.headers.prefer ?? ""))?.[1];
  const value = raw ?? prefer;
  if (value === undefined) return DEFAULT_PAGE;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > MAX_PAGE) {
    throw new GraphError(400, "Request_BadRequest", `Invalid page size '${value}': must be between 1 and ${MAX_PAGE}.`);
  }
  return n;
}

function project(user: DirectoryUser, select: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const name of select) out[name] = user[name as keyof DirectoryUser];
  return out;
}

/** Paging state carried in `$skiptoken` / `$deltatoken` (opaque to callers, as Graph's are). */
interface PageState {
  /** Offset into the listing. */
  o: number;
  t: number;
  s: string[];
  /** Delta: changes after this sequence number; absent for the initial round. */
  d?: number;
  /** Delta: the snapshot sequence number the round ends at. */
  n?: number;
  /** Members listing: the group. */
  g?: string;
}

function encodeState(state: PageState | { seq: number; s: string[] }): string {
  return Buffer.from(JSON.stringify(state)).toString("base64url");
}

function decodeState<T>(token: string): T {
  try {
    return JSON.parse(Buffer.from(token, "base64url").toString("utf8")) as T;
  } catch {
    throw new GraphError(400, "Request_BadRequest", "The skip or delta token is malformed.");
  }
}

function sortedUsers(tenant: DirectoryTenant): DirectoryUser[] {
  return [...tenant.users].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

type Query = Record<string, string | undefined>;

function applicationJson(app: DirectoryApp): Record<string, unknown> {
  return {
    id: app.id,
    appId: app.appId,
    displayName: app.displayName,
    createdDateTime: app.createdDateTime,
    identifierUris: app.identifierUris,
    isFallbackPublicClient: app.isPublicClient,
    signInAudience: "AzureADMyOrg",
    api: {
      requestedAccessTokenVersion: app.accessTokenVersion === 2 ? 2 : null,
      oauth2PermissionScopes: app.exposedScopes.map((value) => ({
        id: deriveGuid(app.id, "scope", value),
        value,
        type: "User",
        isEnabled: true,
      })),
    },
    publicClient: { redirectUris: app.isPublicClient ? app.redirectUris : [] },
    web: { redirectUris: app.isPublicClient ? [] : app.redirectUris },
    passwordCredentials: app.passwordCredentials.map((c) => ({
      keyId: c.keyId,
      displayName: c.displayName,
      startDateTime: c.startDateTime,
      endDateTime: c.endDateTime,
      hint: c.secretText.slice(0, 3),
      secretText: null,
    })),
    requiredResourceAccess: [
      ...(app.graphPermissions.length > 0
        ? [
            {
              resourceAppId: GRAPH_APP_ID,
              resourceAccess: app.graphPermissions.map((p) => ({ id: GRAPH_PERMISSION_IDS[p] ?? p, type: "Role" })),
            },
          ]
        : []),
      ...app.delegatedResources.map((resourceAppId) => ({
        resourceAppId,
        resourceAccess: [{ id: "user_impersonation", type: "Scope" }],
      })),
    ],
  };
}

function filterAppId(filter: string | undefined): string | undefined {
  if (filter === undefined) return undefined;
  const m = /^\s*appId\s+eq\s+'([0-9a-fA-F-]{36})'\s*$/.exec(filter);
  if (!m) throw new GraphError(400, "Request_UnsupportedQuery", `Unsupported query: ${filter} (only appId eq '…').`);
  return m[1]!.toLowerCase();
}

function stringArray(v: unknown, name: string): string[] {
  if (v === undefined) return [];
  if (!Array.isArray(v) || !v.every((x) => typeof x === "string")) {
    throw new GraphError(400, "Request_BadRequest", `Property '${name}' must be an array of strings.`);
  }
  return v as string[];
}

function objectOrEmpty(v: unknown): Record<string, unknown> {
  return typeof v === "object" && v !== null ? (v as Record<string, unknown>) : {};
}

/** `requiredResourceAccess`: Graph application permissions (by name or ID) and delegated resources. */
function parseResourceAccess(v: unknown): { graphPermissions: string[]; delegatedResources: string[] } {
  const rra = Array.isArray(v) ? (v as Record<string, unknown>[]) : [];
  const graph = rra.find((r) => r.resourceAppId === GRAPH_APP_ID);
  const graphPermissions = Array.isArray(graph?.resourceAccess)
    ? (graph.resourceAccess as { id?: unknown; type?: unknown }[])
        .filter((a) => a.type === "Role")
        .map((a) => graphPermissionName(String(a.id)))
    : [];
  const delegatedResources = rra
    .filter((r) => r.resourceAppId !== GRAPH_APP_ID)
    .map((r) => String(r.resourceAppId).toLowerCase());
  return { graphPermissions, delegatedResources };
}

function parseScopes(api: Record<string, unknown>): string[] {
  return Array.isArray(api.oauth2PermissionScopes)
    ? (api.oauth2PermissionScopes as { value?: unknown }[]).map((s) => String(s.value))
    : [];
}

/** The body of `POST /v1.0/applications`, checked. */
function parseNewApplication(body: unknown): NewApplication & { identifierUris: string[] } {
  if (typeof body !== "object" || body === null)
    throw new GraphError(400, "Request_BadRequest", "A JSON object is required.");
  const b = body as Record<string, unknown>;
  if (typeof b.displayName !== "string" || b.displayName.length === 0) {
    throw new GraphError(400, "Request_BadRequest", "Property 'displayName' is required.");
  }
  const api = objectOrEmpty(b.api);
  const publicClient = objectOrEmpty(b.publicClient);
  const web = objectOrEmpty(b.web);
  const publicRedirects = stringArray(publicClient.redirectUris, "publicClient.redirectUris");
  return {
    displayName: b.displayName,
    identifierUris: stringArray(b.identifierUris, "identifierUris"),
    isFallbackPublicClient: b.isFallbackPublicClient === true || publicRedirects.length > 0,
    redirectUris: [...publicRedirects, ...stringArray(web.redirectUris, "web.redirectUris")],
    accessTokenVersion: api.requestedAccessTokenVersion === 2 ? 2 : 1,
    exposedScopes: parseScopes(api),
    ...parseResourceAccess(b.requiredResourceAccess),
  };
}

/**
 * Applies a `PATCH /v1.0/applications/{id}` body: Graph replaces each collection that is present as a
 * whole (e.g. `requiredResourceAccess`, `api.oauth2PermissionScopes`) and leaves absent ones alone.
 */
function patchApplication(target: DirectoryApp, body: Record<string, unknown>): void {
  if (typeof body.displayName === "string") target.displayName = body.displayName;
  if (body.identifierUris !== undefined) target.identifierUris = stringArray(body.identifierUris, "identifierUris");
  if (typeof body.isFallbackPublicClient === "boolean") target.isPublicClient = body.isFallbackPublicClient;
  const publicClient = objectOrEmpty(body.publicClient);
  const web = objectOrEmpty(body.web);
  if (publicClient.redirectUris !== undefined) {
    target.redirectUris = stringArray(publicClient.redirectUris, "publicClient.redirectUris");
    if (target.redirectUris.length > 0) target.isPublicClient = true;
  } else if (web.redirectUris !== undefined && !target.isPublicClient) {
    target.redirectUris = stringArray(web.redirectUris, "web.redirectUris");
  }
  if (body.api !== undefined) {
    const api = objectOrEmpty(body.api);
    if (api.oauth2PermissionScopes !== undefined) target.exposedScopes = parseScopes(api);
    if (api.requestedAccessTokenVersion !== undefined) {
      target.accessTokenVersion = api.requestedAccessTokenVersion === 2 ? 2 : 1;
    }
  }
  if (body.requiredResourceAccess !== undefined) {
    if (!Array.isArray(body.requiredResourceAccess)) {
      throw new GraphError(400, "Request_BadRequest", "Property 'requiredResourceAccess' must be an array.");
    }
    Object.assign(target, parseResourceAccess(body.requiredResourceAccess));
  }
}

/**
 * Graph's identifier URI rule: URIs being added (not those the app already carries) must name the app, the
 * tenant or a verified domain, else 400 `HostNameNotOnVerifiedDomain`.
 */
function checkNewIdentifierUris(
  uris: readonly string[],
  existing: readonly string[],
  app: { readonly appId: string },
  tenant: DirectoryTenant,
): void {
  const refused = firstRefusedIdentifierUri(
    uris.filter((u) => !existing.includes(u)),
    app,
    tenant,
  );
  if (refused !== undefined) {
    throw new GraphError(400, "HostNameNotOnVerifiedDomain", hostNameNotOnVerifiedDomainMessage(refused));
  }
}

/** Registers the Graph routes on `app`. */
export function registerGraphRoutes(app: FastifyInstance, ctx: GraphContext): void {
  const base = (): string => `${ctx.baseUrl()}/v1.0`;

  function listPage(
    reply: FastifyReply,
    items: Record<string, unknown>[],
    state: PageState,
    path: string,
    context: string,
    lastLink: { name: "@odata.deltaLink"; token: string } | undefined,
  ) {
    const page = items.slice(state.o, state.o + state.t);
    const body: Record<string, unknown> = { "@odata.context": `${base()}/$metadata#${context}`, value: page };
    if (state.o + state.t < items.length) {
      body["@odata.nextLink"] = `${base()}/${path}?$skiptoken=${encodeState({ ...state, o: state.o + state.t })}`;
    } else if (lastLink) {
      body[lastLink.name] = `${base()}/${path}?$deltatoken=${lastLink.token}`;
    }
    return reply.send(body);
  }

  /**
   * Where a delta request stands: a page of a round (`$skiptoken`), a new round after a delta token
   * (changes since it), or the initial round. Graph's delta ignores `$top`: only `Prefer: odata.maxpagesize`
   * sets its page size.
   */
  function deltaState(req: FastifyRequest, select: (raw: string | undefined) => string[]): PageState {
    const q = req.query as Query;
    if (q.$skiptoken) return decodeState<PageState>(q.$skiptoken);
    const top = parseTop(req, undefined);
    if (q.$deltatoken) {
      const d = decodeState<{ seq: number; s: string[] }>(q.$deltatoken);
      if (typeof d.seq !== "number" || !Array.isArray(d.s))
        throw new GraphError(400, "Request_BadRequest", "The delta token is malformed.");
      return { o: 0, t: top, s: d.s, d: d.seq, n: ctx.directory.currentSeq() };
    }
    return { o: 0, t: top, s: select(q.$select), n: ctx.directory.currentSeq() };
  }

  app.get("/v1.0/users", async (req, reply) => {
    const caller = authenticateCaller(ctx, req);
    requireAny(caller, "Directory.Read.All", "User.Read.All", "Directory.ReadWrite.All");
    const q = req.query as Query;
    const state: PageState = q.$skiptoken
      ? decodeState<PageState>(q.$skiptoken)
      : { o: 0, t: parseTop(req, q.$top), s: parseSelect(q.$select) };
    const items = sortedUsers(caller.tenant).map((u) => project(u, state.s));
    return listPage(reply, items, state, "users", `users(${state.s.join(",")})`, undefined);
  });

  app.get("/v1.0/users/delta", async (req, reply) => {
    const caller = authenticateCaller(ctx, req);
    requireAny(caller, "Directory.Read.All", "User.Read.All", "Directory.ReadWrite.All");
    const state = deltaState(req, (raw) => parseSelect(raw));
    let items: Record<string, unknown>[];
    if (state.d === undefined) {
      items = sortedUsers(caller.tenant).map((u) => project(u, state.s));
    } else {
      items = [];
      for (const change of ctx.directory.changesSince(caller.tenant, state.d)) {
        if (change.seq > state.n!) continue;
        const user = ctx.directory.findUser(caller.tenant, change.userId);
        if (change.removed || !user)
          items.push({ id: change.userId, "@removed": { reason: change.removed ?? "deleted" } });
        else items.push(project(user, state.s));
      }
    }
    const deltaToken = encodeState({ seq: state.n!, s: state.s });
    return listPage(reply, items, state, "users/delta", `users(${state.s.join(",")})`, {
      name: "@odata.deltaLink",
      token: deltaToken,
    });
  });

  const groupRead = ["Group.Read.All", "GroupMember.Read.All", "Directory.Read.All", "Directory.ReadWrite.All"];

  app.get("/v1.0/groups", async (req, reply) => {
    const caller = authenticateCaller(ctx, req);
    requireAny(caller, ...groupRead);
    const q = req.query as Query;
    const state: PageState = q.$skiptoken
      ? decodeState<PageState>(q.$skiptoken)
      : { o: 0, t: parseTop(req, q.$top), s: parseSelect(q.$select, GROUP_ATTRIBUTES, DEFAULT_GROUP_SELECT, "group") };
    const items = ctx.directory.groups(caller.tenant).map((g) => projectGroup(g, state.s));
    return listPage(reply, items, state, "groups", `groups(${state.s.join(",")})`, undefined);
  });

  // Graph's group delta: with `members` selected, `members@delta` lists every member in the initial round,
  // then only the members added or removed (`@removed`) since the delta token.
  app.get("/v1.0/groups/delta", async (req, reply) => {
    const caller = authenticateCaller(ctx, req);
    requireAny(caller, ...groupRead);
    const state = deltaState(req, (raw) =>
      parseSelect(raw, [...GROUP_ATTRIBUTES, "members"], DEFAULT_GROUP_SELECT, "group"),
    );
    const withMembers = state.s.includes("members");
    const groups = ctx.directory.groups(caller.tenant);
    let items: Record<string, unknown>[];
    if (state.d === undefined) {
      items = groups.map((g) => ({
        ...projectGroup(g, state.s),
        ...(withMembers ? { "members@delta": [...g.members].sort().map(userRef) } : {}),
      }));
    } else {
      const changed = new Map<string, Map<string, "added" | "removed">>();
      for (const change of ctx.directory.groupChangesSince(caller.tenant, state.d)) {
        if (change.seq > state.n!) continue;
        const members = changed.get(change.groupId) ?? new Map<string, "added" | "removed">();
        if (change.member) members.set(change.member.userId, change.member.change);
        changed.set(change.groupId, members);
      }
      items = [];
      for (const [groupId, members] of changed) {
        const group = groups.find((g) => g.id === groupId);
        if (!group) {
          items.push({ id: groupId, "@removed": { reason: "deleted" } });
          continue;
        }
        const memberDelta = [...members].map(([id, change]) =>
          change === "added" ? userRef(id) : { ...userRef(id), "@removed": { reason: "deleted" } },
        );
        items.push({ ...projectGroup(group, state.s), ...(withMembers ? { "members@delta": memberDelta } : {}) });
      }
    }
    return listPage(reply, items, state, "groups/delta", `groups(${state.s.join(",")})`, {
      name: "@odata.deltaLink",
      token: encodeState({ seq: state.n!, s: state.s }),
    });
  });

  app.get("/v1.0/groups/:id/members", async (req, reply) => {
    const caller = authenticateCaller(ctx, req);
    requireAny(caller, ...groupRead);
    const id = (req.params as { id: string }).id;
    const group = ctx.directory.findGroup(caller.tenant, id);
    if (!group || group.id !== id.toLowerCase())
      throw new GraphError(
        404,
        "Request_ResourceNotFound",
        `Resource '${id}' does not exist or one of its queried reference-property objects are not present.`,
      );
    const q = req.query as Query;
    const state: PageState = q.$skiptoken
      ? decodeState<PageState>(q.$skiptoken)
      : { o: 0, t: parseTop(req, q.$top), s: parseSelect(q.$select), g: group.id };
    const items = sortedUsers(caller.tenant)
      .filter((u) => group.members.has(u.id))
      .map((u) => ({ "@odata.type": "#microsoft.graph.user", ...project(u, state.s) }));
    return listPage(reply, items, state, `groups/${group.id}/members`, "directoryObjects", undefined);
  });

  app.get("/v1.0/users/:id", async (req, reply) => {
    const caller = authenticateCaller(ctx, req);
    requireAny(caller, "Directory.Read.All", "User.Read.All", "Directory.ReadWrite.All");
    const user = ctx.directory.findUser(caller.tenant, (req.params as { id: string }).id);
    if (!user)
      throw new GraphError(
        404,
        "Request_ResourceNotFound",
        `Resource '${(req.params as { id: string }).id}' does not exist or one of its queried reference-property objects are not present.`,
      );
    return reply.send(project(user, parseSelect((req.query as Query).$select)));
  });

  app.get("/v1.0/organization", async (req, reply) => {
    const caller = authenticateCaller(ctx, req);
    const t = caller.tenant;
    return reply.send({
      "@odata.context": `${base()}/$metadata#organization`,
      value: [
        {
          id: t.id,
          displayName: t.displayName,
          verifiedDomains: t.verifiedDomains.map((name, i) => ({
            name,
            isDefault: i === 0,
            isInitial: i === 0,
            type: "Managed",
          })),
        },
      ],
    });
  });

  const appRead = ["Application.Read.All", "Application.ReadWrite.All", "Directory.Read.All"];
  const appWrite = ["Application.ReadWrite.All"];

  function findApplication(caller: Caller, id: string): DirectoryApp {
    const found = ctx.directory.findAppByObjectId(caller.tenant, id);
    if (!found)
      throw new GraphError(
        404,
        "Request_ResourceNotFound",
        `Resource '${id}' does not exist or one of its queried reference-property objects are not present.`,
      );
    return found;
  }

  app.get("/v1.0/applications", async (req, reply) => {
    const caller = authenticateCaller(ctx, req);
    requireAny(caller, ...appRead);
    const appId = filterAppId((req.query as Query).$filter);
    const apps = caller.tenant.apps.filter((a) => appId === undefined || a.appId === appId);
    return reply.send({ "@odata.context": `${base()}/$metadata#applications`, value: apps.map(applicationJson) });
  });

  app.post("/v1.0/applications", async (req, reply) => {
    const caller = authenticateCaller(ctx, req);
    requireAny(caller, ...appWrite);
    const spec = { ...parseNewApplication(req.body), appId: randomUUID() };
    checkNewIdentifierUris(spec.identifierUris, [], spec, caller.tenant);
    for (const uri of spec.identifierUris) {
      if (caller.tenant.apps.some((a) => a.identifierUris.includes(uri))) {
        throw new GraphError(
          400,
          "Request_BadRequest",
          `Another object with the same value for property identifierUris already exists.`,
        );
      }
    }
    const created = ctx.directory.createApplication(caller.tenant, spec, new Date(ctx.now()));
    return reply.code(201).send(applicationJson(created));
  });

  app.get("/v1.0/applications/:id", async (req, reply) => {
    const caller = authenticateCaller(ctx, req);
    requireAny(caller, ...appRead);
    return reply.send(applicationJson(findApplication(caller, (req.params as { id: string }).id)));
  });

  app.patch("/v1.0/applications/:id", async (req, reply) => {
    const caller = authenticateCaller(ctx, req);
    requireAny(caller, ...appWrite);
    const target = findApplication(caller, (req.params as { id: string }).id);
    const body = (req.body ?? {}) as Record<string, unknown>;
    if (body.identifierUris !== undefined) {
      checkNewIdentifierUris(
        stringArray(body.identifierUris, "identifierUris"),
        target.identifierUris,
        target,
        caller.tenant,
      );
    }
    patchApplication(target, body);
    return reply.code(204).send();
  });

  app.delete("/v1.0/applications/:id", async (req, reply) => {
    const caller = authenticateCaller(ctx, req);
    requireAny(caller, ...appWrite);
    ctx.directory.deleteApplication(caller.tenant, findApplication(caller, (req.params as { id: string }).id));
    return reply.code(204).send();
  });

  app.post("/v1.0/applications/:id/addPassword", async (req, reply) => {
    const caller = authenticateCaller(ctx, req);
    requireAny(caller, ...appWrite);
    const target = findApplication(caller, (req.params as { id: string }).id);
    const body = (req.body ?? {}) as { passwordCredential?: { displayName?: unknown; endDateTime?: unknown } };
    const now = new Date(ctx.now());
    const end = body.passwordCredential?.endDateTime;
    const endDateTime =
      typeof end === "string" && !Number.isNaN(Date.parse(end))
        ? new Date(end).toISOString()
        : new Date(now.getTime() + 2 * 365.25 * 86_400_000).toISOString();
    const cred = ctx.directory.addPassword(
      target,
      String(body.passwordCredential?.displayName ?? ""),
      endDateTime,
      now,
    );
    return reply.send({
      "@odata.context": `${base()}/$metadata#microsoft.graph.passwordCredential`,
      customKeyIdentifier: null,
      displayName: cred.displayName,
      endDateTime: cred.endDateTime,
      hint: cred.secretText.slice(0, 3),
      keyId: cred.keyId,
      secretText: cred.secretText,
      startDateTime: cred.startDateTime,
    });
  });

  app.post("/v1.0/applications/:id/removePassword", async (req, reply) => {
    const caller = authenticateCaller(ctx, req);
    requireAny(caller, ...appWrite);
    const target = findApplication(caller, (req.params as { id: string }).id);
    const keyId = String(((req.body ?? {}) as { keyId?: unknown }).keyId ?? "");
    if (!ctx.directory.removePassword(target, keyId)) {
      throw new GraphError(400, "Request_BadRequest", `No password credential found with keyId '${keyId}'.`);
    }
    return reply.code(204).send();
  });

  app.post("/v1.0/servicePrincipals", async (req, reply) => {
    const caller = authenticateCaller(ctx, req);
    requireAny(caller, ...appWrite);
    const appId = String(((req.body ?? {}) as { appId?: unknown }).appId ?? "").toLowerCase();
    const target = ctx.directory.findApp(caller.tenant, appId);
    if (!target)
      throw new GraphError(
        400,
        "Request_BadRequest",
        `The appId '${appId}' of the service principal does not reference a valid application object.`,
      );
    return reply
      .code(201)
      .send({ id: target.servicePrincipalId, appId: target.appId, displayName: target.displayName });
  });

  app.get("/v1.0/servicePrincipals", async (req, reply) => {
    const caller = authenticateCaller(ctx, req);
    requireAny(caller, ...appRead);
    const appId = filterAppId((req.query as Query).$filter);
    const apps = caller.tenant.apps.filter((a) => appId === undefined || a.appId === appId);
    return reply.send({
      value: apps.map((a) => ({ id: a.servicePrincipalId, appId: a.appId, displayName: a.displayName })),
    });
  });
}

/**
 * The test-only control API under `/_sim/` (docs/architecture.md § Simulators, § Interfaces): mint tokens with chosen claims, rotate and
 * revoke signing keys, switch an IdP outage or latency on and off, manage users and devices, approve device
 * codes, read request counters. Absent when the emulator runs with `controlApi: false`.
 */
import type { FastifyInstance } from "fastify";
import { CLOUDS } from "./clouds.js";
import type { Directory } from "./directory.js";
import { type GrantContext, settleDeviceCode } from "./grants.js";
import type { KeyStore } from "./keys.js";
import type { DirectoryTenant } from "./seed.js";
import { buildAccessClaims, signToken, type TokenKind } from "./tokens.js";

/** Which endpoints a fault applies to. */
export type FaultTarget = "discovery" | "keys" | "token" | "graph";

/** Every fault target. */
export const FAULT_TARGETS: readonly FaultTarget[] = ["discovery", "keys", "token", "graph"];

/** Injected faults; read by the server's request hook. */
export interface Faults {
  outage: { readonly mode: "503" | "hang"; readonly targets: ReadonlySet<FaultTarget> } | undefined;
  latency: { readonly ms: number; readonly targets: ReadonlySet<FaultTarget> } | undefined;
}

/** Request counters per target and tenant (e.g. JWKS fetches the gateway made). */
export type Stats = Record<FaultTarget, Record<string, number>>;

/** Creates zeroed counters. */
export function createStats(): Stats {
  return { discovery: {}, keys: {}, token: {}, graph: {} };
}

/** Input of {@link mintToken}. */
export interface MintRequest {
  readonly tenantId: string;
  readonly kind?: TokenKind;
  readonly version?: 1 | 2;
  /** Claims to set; a `null` value removes the claim. */
  readonly claims?: Record<string, unknown>;
  /** Header members to set or override (e.g. an unknown `kid`); a `null` value removes the member. */
  readonly header?: Record<string, unknown>;
  /** Sign with this published key instead of the current one. */
  readonly kid?: string;
  /** The user of user tokens (default: the tenant's first user). */
  readonly upn?: string;
  /** The device of device tokens (default: the tenant's first device). */
  readonly deviceId?: string;
}

/** Thrown by {@link mintToken} for a bad request. */
export class MintError extends Error {}

/**
 * Mints a token for a tenant: by default a realistic v1 user token for the CM server app requested by the
 * CM client app, signed with the tenant's current key; `claims`/`header` then override anything.
 */
export function mintToken(directory: Directory, keys: KeyStore, nowMs: number, req: MintRequest): string {
  const tenant = directory.findTenant(String(req.tenantId ?? ""));
  if (!tenant) throw new MintError(`unknown tenant ${String(req.tenantId)}`);
  const kind = req.kind ?? "user";
  if (!["user", "device", "user+device", "app"].includes(kind)) throw new MintError(`unknown kind ${kind}`);
  const version = req.version ?? 1;
  if (version !== 1 && version !== 2) throw new MintError("version must be 1 or 2");
  const server = directory.findApp(tenant, tenant.serverAppId)!;
  const client = directory.findApp(tenant, tenant.clientAppId)!;
  const needsUser = kind === "user" || kind === "user+device";
  const needsDevice = kind === "device" || kind === "user+device";
  const user = needsUser ? (req.upn ? directory.findUser(tenant, req.upn) : tenant.users[0]) : undefined;
  if (needsUser && !user) throw new MintError(`no user ${req.upn ?? "(first)"} in tenant ${tenant.id}`);
  const device = needsDevice
    ? req.deviceId
      ? directory.findDevice(tenant, req.deviceId)
      : tenant.devices[0]
    : undefined;
  if (needsDevice && !device) throw new MintError(`no device ${req.deviceId ?? "(first)"} in tenant ${tenant.id}`);
  const claims = buildAccessClaims({
    tenantId: tenant.id,
    cloud: CLOUDS[tenant.cloud],
    version,
    audience: version === 1 ? server.identifierUris[0]! : server.appId,
    // Device tokens of the device credential grant usually carry no client app (docs/architecture.md § Tokens).
    client: kind === "device" ? undefined : kind === "app" ? server : client,
    clientAuth: kind === "app" ? "1" : "0",
    user,
    device,
    scopes: needsUser ? server.exposedScopes : undefined,
    nowSec: Math.floor(nowMs / 1000),
  });
  applyOverrides(claims, req.claims);
  const key = req.kid ? keys.find(tenant.id, req.kid) : keys.current(tenant.id);
  if (!key) throw new MintError(`key ${req.kid} is not published for tenant ${tenant.id}`);
  return signToken(claims, key, version, req.header ?? {});
}

function applyOverrides(target: Record<string, unknown>, overrides: Record<string, unknown> | undefined): void {
  if (!overrides) return;
  for (const [k, v] of Object.entries(overrides)) {
    if (v === null) delete target[k];
    else target[k] = v;
  }
}

/** What the control routes need. */
export interface ControlContext {
  readonly directory: Directory;
  readonly keys: KeyStore;
  readonly grants: GrantContext;
  readonly faults: Faults;
  readonly stats: Stats;
  readonly now: () => number;
  /** Called after key changes so a key file on disk stays current. */
  readonly onKeysChanged: () => Promise<void>;
  /** Releases requests held by a `hang` outage. */
  readonly releaseHung: () => void;
}

type Body = Record<string, unknown>;

class ControlError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function tenantOf(ctx: ControlContext, body: Body): DirectoryTenant {
  const tenant = ctx.directory.findTenant(String(body.tenantId ?? ""));
  if (!tenant) throw new ControlError(404, `unknown tenant ${String(body.tenantId)}`);
  return tenant;
}

/** The tenant whose cloud key set a key control acts on: `{tenantId}`, or `{cloud}` (its first tenant). */
function keySetTenantOf(ctx: ControlContext, body: Body): DirectoryTenant {
  if (body.tenantId === undefined && typeof body.cloud === "string") {
    const tenant = ctx.directory.tenants.find((t) => t.cloud === body.cloud);
    if (!tenant) throw new ControlError(404, `no tenant in cloud ${body.cloud}`);
    return tenant;
  }
  return tenantOf(ctx, body);
}

function targetsOf(body: Body, fallback: readonly FaultTarget[]): Set<FaultTarget> {
  const raw = body.targets ?? fallback;
  if (!Array.isArray(raw) || !raw.every((t) => FAULT_TARGETS.includes(t as FaultTarget))) {
    throw new ControlError(400, `targets must be a subset of ${FAULT_TARGETS.join(", ")}`);
  }
  return new Set(raw as FaultTarget[]);
}

/** Registers the `/_sim/` routes on `app`. */
export function registerControlRoutes(app: FastifyInstance, ctx: ControlContext): void {
  app.setErrorHandler((err, _req, reply) => {
    if (err instanceof ControlError) return reply.code(err.status).send({ error: err.message });
    if (err instanceof MintError) return reply.code(400).send({ error: err.message });
    const status = (err as { statusCode?: number }).statusCode ?? 500;
    return reply.code(status >= 400 && status < 600 ? status : 500).send({ error: (err as Error).message });
  });

  const body = (raw: unknown): Body =>
    typeof raw === "object" && raw !== null && !Array.isArray(raw) ? (raw as Body) : {};

  app.get("/_sim/directory", async () => ({
    tenants: ctx.directory.tenants.map((t) => {
      const server = ctx.directory.findApp(t, t.serverAppId)!;
      return {
        id: t.id,
        name: t.name,
        displayName: t.displayName,
        cloud: t.cloud,
        serverApp: {
          clientId: server.appId,
          appIdUri: server.identifierUris[0],
          secret: server.passwordCredentials[0]?.secretText,
          secretExpiry: server.passwordCredentials[0]?.endDateTime,
        },
        clientApp: { clientId: t.clientAppId },
        users: t.users.map((u) => ({
          id: u.id,
          upn: u.userPrincipalName,
          password: u.password,
          enabled: u.accountEnabled,
          admin: u.isAdmin,
        })),
        devices: t.devices.map((d) => ({
          deviceId: d.deviceId,
          id: d.id,
          enabled: d.accountEnabled,
          privateKeyJwk: d.privateKeyJwk,
        })),
      };
    }),
  }));

  app.post("/_sim/mint", async (req) => ({
    token: mintToken(ctx.directory, ctx.keys, ctx.now(), body(req.body) as unknown as MintRequest),
  }));

  app.get("/_sim/keys/:tenantId", async (req) => {
    const tenant = tenantOf(ctx, req.params as Body);
    return {
      cloud: tenant.cloud,
      current: ctx.keys.current(tenant.id).kid,
      published: ctx.keys.published(tenant.id).map((k) => k.kid),
    };
  });

  // Keys are one set per cloud: rotating or revoking through any tenant acts on every tenant of its cloud.
  app.post("/_sim/keys/rotate", async (req) => {
    const tenant = keySetTenantOf(ctx, body(req.body));
    const result = await ctx.keys.rotate(tenant.id);
    await ctx.onKeysChanged();
    return result;
  });

  app.post("/_sim/keys/revoke", async (req) => {
    const b = body(req.body);
    const tenant = keySetTenantOf(ctx, b);
    const kid = String(b.kid ?? "");
    if (!ctx.keys.find(tenant.id, kid)) throw new ControlError(404, `key ${kid} is not published for ${tenant.cloud}`);
    const result = await ctx.keys.revoke(tenant.id, kid);
    await ctx.onKeysChanged();
    return result;
  });

  app.post("/_sim/outage", async (req) => {
    const b = body(req.body);
    if (b.enabled === false) {
      ctx.faults.outage = undefined;
      ctx.releaseHung();
      return { outage: null };
    }
    const mode = b.mode ?? "503";
    if (mode !== "503" && mode !== "hang") throw new ControlError(400, "mode must be '503' or 'hang'");
    ctx.faults.outage = { mode, targets: targetsOf(b, ["discovery", "keys"]) };
    return { outage: { mode, targets: [...ctx.faults.outage.targets] } };
  });

  app.post("/_sim/latency", async (req) => {
    const b = body(req.body);
    const ms = Number(b.ms ?? 0);
    if (!Number.isFinite(ms) || ms < 0 || ms > 600_000) throw new ControlError(400, "ms must be 0..600000");
    ctx.faults.latency = ms === 0 ? undefined : { ms, targets: targetsOf(b, FAULT_TARGETS) };
    return { latency: ctx.faults.latency ? { ms, targets: [...ctx.faults.latency.targets] } : null };
  });

  app.post("/_sim/users", async (req, reply) => {
    const b = body(req.body);
    const tenant = tenantOf(ctx, b);
    if (typeof b.upn !== "string" || !b.upn.includes("@")) throw new ControlError(400, "upn is required");
    try {
      const user = ctx.directory.addUser(tenant, {
        upn: b.upn,
        ...(typeof b.password === "string" ? { password: b.password } : {}),
        ...(typeof b.displayName === "string" ? { displayName: b.displayName } : {}),
        onPremises: b.onPremises === true,
        admin: b.admin === true,
      });
      return reply.code(201).send({ id: user.id, upn: user.userPrincipalName, password: user.password });
    } catch (err) {
      throw new ControlError(409, (err as Error).message);
    }
  });

  function userOf(b: Body) {
    const tenant = tenantOf(ctx, b);
    const user = ctx.directory.findUser(tenant, String(b.upn ?? b.id ?? ""));
    if (!user) throw new ControlError(404, `no user ${String(b.upn ?? b.id)} in tenant ${tenant.id}`);
    return { tenant, user };
  }

  app.post("/_sim/users/disable", async (req) => {
    const { tenant, user } = userOf(body(req.body));
    ctx.directory.updateUser(tenant, user, { accountEnabled: false });
    return { id: user.id, accountEnabled: false };
  });

  app.post("/_sim/users/enable", async (req) => {
    const { tenant, user } = userOf(body(req.body));
    ctx.directory.updateUser(tenant, user, { accountEnabled: true });
    return { id: user.id, accountEnabled: true };
  });

  app.post("/_sim/users/remove", async (req) => {
    const b = body(req.body);
    const { tenant, user } = userOf(b);
    ctx.directory.removeUser(tenant, user, b.permanent === true ? "deleted" : "changed");
    return { id: user.id, removed: b.permanent === true ? "deleted" : "changed" };
  });

  // Group membership changes, which Graph's /groups/delta then reports (`members@delta`).
  for (const change of ["add", "remove"] as const) {
    app.post(`/_sim/groups/members/${change}`, async (req) => {
      const b = body(req.body);
      const { tenant, user } = userOf(b);
      const group = ctx.directory.findGroup(tenant, String(b.group ?? ""));
      if (!group) throw new ControlError(404, `no group ${String(b.group)} in tenant ${tenant.id}`);
      if (change === "add") ctx.directory.addGroupMember(tenant, group, user);
      else ctx.directory.removeGroupMember(tenant, group, user.id);
      return { groupId: group.id, userId: user.id, members: group.members.size };
    });
  }

  for (const enabled of [true, false]) {
    app.post(`/_sim/devices/${enabled ? "enable" : "disable"}`, async (req) => {
      const b = body(req.body);
      const tenant = tenantOf(ctx, b);
      const device = ctx.directory.findDevice(tenant, String(b.deviceId ?? ""));
      if (!device) throw new ControlError(404, `no device ${String(b.deviceId)} in tenant ${tenant.id}`);
      ctx.directory.setDeviceEnabled(tenant, device, enabled);
      return { deviceId: device.deviceId, accountEnabled: enabled };
    });
  }

  for (const approve of [true, false]) {
    app.post(`/_sim/devicecode/${approve ? "approve" : "deny"}`, async (req) => {
      const b = body(req.body);
      const problem = settleDeviceCode(ctx.grants, String(b.userCode ?? ""), {
        approve,
        upn: typeof b.upn === "string" ? b.upn : undefined,
        deviceId: typeof b.deviceId === "string" ? b.deviceId : undefined,
      });
      if (problem) throw new ControlError(404, problem);
      return { userCode: b.userCode, status: approve ? "approved" : "declined" };
    });
  }

  app.get("/_sim/stats", async () => ctx.stats);
  app.post("/_sim/stats/reset", async () => {
    for (const target of FAULT_TARGETS) ctx.stats[target] = {};
    return ctx.stats;
  });
}

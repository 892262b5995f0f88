/**
 * The emulated directory: tenants, app registrations, users and devices, with a change log that Microsoft
 * Graph's delta queries read (docs/architecture.md § User discovery).
 */
import { randomBytes, randomUUID } from "node:crypto";
import {
  createDirectoryUser,
  type DirectoryApp,
  type DirectoryDevice,
  type DirectoryTenant,
  type DirectoryUser,
  deriveGuid,
  type PasswordCredential,
} from "./seed.js";

/** Why a user left the directory, as Graph's delta reports it (`@removed.reason`). */
export type RemovalReason = "changed" | "deleted";

/** One entry of a tenant's change log. */
export interface UserChange {
  readonly seq: number;
  readonly userId: string;
  readonly removed?: RemovalReason;
}

/** A security group of the directory; `members` are user object IDs. */
export interface DirectoryGroup {
  readonly id: string;
  readonly displayName: string;
  readonly description: string;
  readonly mailNickname: string;
  readonly securityEnabled: true;
  readonly mailEnabled: false;
  readonly members: Set<string>;
}

/** One entry of a tenant's group change log (what `/groups/delta` reports). */
export interface GroupChange {
  readonly seq: number;
  readonly groupId: string;
  /** A member added (`added`) or removed (`removed`); absent when the group itself changed or left. */
  readonly member?: { readonly userId: string; readonly change: "added" | "removed" };
  readonly removed?: RemovalReason;
}

/** Input of {@link Directory.addUser}. */
export interface NewUser {
  readonly upn: string;
  readonly password?: string;
  readonly displayName?: string;
  readonly accountEnabled?: boolean;
  readonly onPremises?: boolean;
  readonly admin?: boolean;
}

/** Input of {@link Directory.createApplication} (a subset of Graph's `application` resource). */
export interface NewApplication {
  /** Application (client) ID to give it; default a new GUID. */
  readonly appId?: string;
  readonly displayName: string;
  readonly identifierUris?: readonly string[];
  readonly isFallbackPublicClient?: boolean;
  readonly redirectUris?: readonly string[];
  readonly accessTokenVersion?: 1 | 2;
  readonly exposedScopes?: readonly string[];
  readonly graphPermissions?: readonly string[];
  readonly delegatedResources?: readonly string[];
}

/** The directory of all tenants. */
export interface Directory {
  readonly tenants: readonly DirectoryTenant[];
  /** A tenant by ID or verified domain (Entra accepts both in the authority path). */
  findTenant(idOrDomain: string): DirectoryTenant | undefined;
  findApp(tenant: DirectoryTenant, appId: string): DirectoryApp | undefined;
  findAppByObjectId(tenant: DirectoryTenant, objectId: string): DirectoryApp | undefined;
  /** The resource app named by a v1 `resource` or a v2 scope prefix: App ID URI (trailing `/` ignored) or client ID. */
  findResource(tenant: DirectoryTenant, resource: string): DirectoryApp | undefined;
  findUser(tenant: DirectoryTenant, upnOrId: string): DirectoryUser | undefined;
  findDevice(tenant: DirectoryTenant, deviceId: string): DirectoryDevice | undefined;
  addUser(tenant: DirectoryTenant, user: NewUser): DirectoryUser;
  /** Changes a user's mutable attributes; logs a change for delta. */
  updateUser(
    tenant: DirectoryTenant,
    user: DirectoryUser,
    patch: Partial<Pick<DirectoryUser, "accountEnabled" | "displayName" | "password">>,
  ): void;
  removeUser(tenant: DirectoryTenant, user: DirectoryUser, reason: RemovalReason): void;
  setDeviceEnabled(tenant: DirectoryTenant, device: DirectoryDevice, enabled: boolean): void;
  /** The latest change sequence number (a delta token names one). */
  currentSeq(): number;
  /** Changes of a tenant after `seq`, latest per user. */
  changesSince(tenant: DirectoryTenant, seq: number): UserChange[];
  /** The tenant's groups, ordered by ID. */
  groups(tenant: DirectoryTenant): DirectoryGroup[];
  /** A group by object ID or display name (case-insensitive). */
  findGroup(tenant: DirectoryTenant, idOrName: string): DirectoryGroup | undefined;
  /** Adds a user to a group (no-op when already a member); logs the change for delta. */
  addGroupMember(tenant: DirectoryTenant, group: DirectoryGroup, user: DirectoryUser): void;
  /** Removes a user from a group (no-op when not a member); logs the change for delta. */
  removeGroupMember(tenant: DirectoryTenant, group: DirectoryGroup, userId: string): void;
  /** Group changes of a tenant after `seq`, in order. */
  groupChangesSince(tenant: DirectoryTenant, seq: number): GroupChange[];
  createApplication(tenant: DirectoryTenant, app: NewApplication, now: Date): DirectoryApp;
  addPassword(app: DirectoryApp, displayName: string, endDateTime: string, now: Date): PasswordCredential;
  removePassword(app: DirectoryApp, keyId: string): boolean;
  deleteApplication(tenant: DirectoryTenant, app: DirectoryApp): void;
}

function newSecret(): string {
  const body = randomBytes(28).toString("base64url");
  return `${body.slice(0, 3)}8Q~${body.slice(3, 37)}`;
}

/**
 * The groups a tenant with users starts with, derived from its users (the seed's user discovery also covers
 * groups, docs/simulators.md § Entra ID emulator (`entra-simulator/`)): everyone, the administrators, and the
 * hybrid (on-premises synced) users.
 */
function seedGroups(tenant: DirectoryTenant): DirectoryGroup[] {
  if (tenant.users.length === 0) return [];
  const group = (displayName: string, description: string, members: DirectoryUser[]): DirectoryGroup => ({
    id: deriveGuid(tenant.id, "group", displayName),
    displayName,
    description,
    mailNickname: displayName.replace(/[^A-Za-z0-9]/g, ""),
    securityEnabled: true,
    mailEnabled: false,
    members: new Set(members.map((u) => u.id)),
  });
  return [
    group("ConfigMgr Users", "Every user CM manages", tenant.users),
    group(
      "ConfigMgr Administrators",
      "Administrators",
      tenant.users.filter((u) => u.isAdmin),
    ),
    group(
      "Hybrid Users",
      "Users synced from on-premises AD",
      tenant.users.filter((u) => u.onPremisesSecurityIdentifier !== null),
    ),
  ].sort((a, b) => (a.id < b.id ? -1 : 1));
}

/** Creates the directory over materialised tenants (it takes ownership of them). */
export function createDirectory(tenants: DirectoryTenant[]): Directory {
  let seq = 0;
  const log = new Map<string, UserChange[]>(tenants.map((t) => [t.id, []]));
  const groupsOf = new Map<string, DirectoryGroup[]>(tenants.map((t) => [t.id, seedGroups(t)]));
  const groupLog = new Map<string, GroupChange[]>(tenants.map((t) => [t.id, []]));

  function recordGroup(tenant: DirectoryTenant, change: Omit<GroupChange, "seq">): void {
    seq += 1;
    groupLog.get(tenant.id)!.push({ seq, ...change });
  }

  function record(tenant: DirectoryTenant, userId: string, removed?: RemovalReason): void {
    seq += 1;
    log.get(tenant.id)!.push(removed ? { seq, userId, removed } : { seq, userId });
  }

  return {
    tenants,
    findTenant(idOrDomain) {
      const key = idOrDomain.toLowerCase();
      return tenants.find((t) => t.id === key || t.verifiedDomains.some((d) => d.toLowerCase() === key));
    },
    findApp: (tenant, appId) => tenant.apps.find((a) => a.appId === appId.toLowerCase()),
    findAppByObjectId: (tenant, objectId) => tenant.apps.find((a) => a.id === objectId.toLowerCase()),
    findResource(tenant, resource) {
      const wanted = resource.replace(/\/+$/, "");
      return tenant.apps.find(
        (a) => a.appId === wanted.toLowerCase() || a.identifierUris.some((u) => u.replace(/\/+$/, "") === wanted),
      );
    },
    findUser(tenant, upnOrId) {
      const key = upnOrId.toLowerCase();
      return tenant.users.find((u) => u.id === key || u.userPrincipalName.toLowerCase() === key);
    },
    findDevice: (tenant, deviceId) => tenant.devices.find((d) => d.deviceId === deviceId.toLowerCase()),
    addUser(tenant, spec) {
      if (tenant.users.some((u) => u.userPrincipalName.toLowerCase() === spec.upn.toLowerCase())) {
        throw new Error(`user ${spec.upn} already exists in tenant ${tenant.id}`);
      }
      const user = createDirectoryUser(
        tenant.id,
        tenant.name,
        {
          upn: spec.upn,
          ...(spec.password !== undefined ? { password: spec.password } : {}),
          ...(spec.displayName !== undefined ? { displayName: spec.displayName } : {}),
          accountEnabled: spec.accountEnabled ?? true,
          onPremises: spec.onPremises ?? false,
          admin: spec.admin ?? false,
        },
        tenant.users.length,
      );
      tenant.users.push(user);
      record(tenant, user.id);
      return user;
    },
    updateUser(tenant, user, patch) {
      Object.assign(user, patch);
      record(tenant, user.id);
    },
    removeUser(tenant, user, reason) {
      tenant.users.splice(tenant.users.indexOf(user), 1);
      record(tenant, user.id, reason);
      // A user who leaves the directory leaves its groups too.
      for (const group of groupsOf.get(tenant.id) ?? []) {
        if (group.members.delete(user.id)) {
          recordGroup(tenant, { groupId: group.id, member: { userId: user.id, change: "removed" } });
        }
      }
    },
    groups: (tenant) => groupsOf.get(tenant.id) ?? [],
    findGroup(tenant, idOrName) {
      const key = idOrName.toLowerCase();
      return (groupsOf.get(tenant.id) ?? []).find((g) => g.id === key || g.displayName.toLowerCase() === key);
    },
    addGroupMember(tenant, group, user) {
      if (group.members.has(user.id)) return;
      group.members.add(user.id);
      recordGroup(tenant, { groupId: group.id, member: { userId: user.id, change: "added" } });
    },
    removeGroupMember(tenant, group, userId) {
      if (!group.members.delete(userId)) return;
      recordGroup(tenant, { groupId: group.id, member: { userId, change: "removed" } });
    },
    groupChangesSince: (tenant, since) => (groupLog.get(tenant.id) ?? []).filter((c) => c.seq > since),
    setDeviceEnabled(_tenant, device, enabled) {
      device.accountEnabled = enabled;
    },
    currentSeq: () => seq,
    changesSince(tenant, since) {
      const latest = new Map<string, UserChange>();
      for (const change of log.get(tenant.id) ?? []) if (change.seq > since) latest.set(change.userId, change);
      return [...latest.values()].sort((a, b) => a.seq - b.seq);
    },
    createApplication(tenant, spec, now) {
      const appId = spec.appId ?? randomUUID();
      const app: DirectoryApp = {
        id: randomUUID(),
        appId,
        servicePrincipalId: randomUUID(),
        displayName: spec.displayName,
        identifierUris: [...(spec.identifierUris ?? [])],
        isPublicClient: spec.isFallbackPublicClient ?? false,
        redirectUris: [...(spec.redirectUris ?? [])],
        passwordCredentials: [],
        accessTokenVersion: spec.accessTokenVersion ?? 1,
        exposedScopes: [...(spec.exposedScopes ?? [])],
        graphPermissions: [...(spec.graphPermissions ?? [])],
        delegatedResources: [...(spec.delegatedResources ?? [])],
        createdDateTime: now.toISOString(),
      };
      tenant.apps.push(app);
      return app;
    },
    addPassword(app, displayName, endDateTime, now) {
      const cred: PasswordCredential = {
        keyId: randomUUID(),
        displayName,
        secretText: newSecret(),
        startDateTime: now.toISOString(),
        endDateTime,
      };
      app.passwordCredentials.push(cred);
      return cred;
    },
    removePassword(app, keyId) {
      const before = app.passwordCredentials.length;
      app.passwordCredentials = app.passwordCredentials.filter((c) => c.keyId !== keyId);
      return app.passwordCredentials.length < before;
    },
    deleteApplication(tenant, app) {
      tenant.apps.splice(tenant.apps.indexOf(app), 1);
    },
  };
}

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
  createApplication(tenant: DirectoryTenant, app: NewApplication, now: Date): DirectoryApp;
  addPassword(app: DirectoryApp, displayName: string, endDateTime: string, now: Date): PasswordCredential;
  removePassword(app: DirectoryApp, keyId: string): boolean;
  deleteApplication(tenant: DirectoryTenant, app: DirectoryApp): void;
}

function newSecret(): string {
  const body = randomBytes(28).toString("base64url");
  return `${body.slice(0, 3)}8Q~${body.slice(3, 37)}`;
}

/** Creates the directory over materialised tenants (it takes ownership of them). */
export function createDirectory(tenants: DirectoryTenant[]): Directory {
  let seq = 0;
  const log = new Map<string, UserChange[]>(tenants.map((t) => [t.id, []]));

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
    },
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
      const appId = randomUUID();
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

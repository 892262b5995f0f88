/**
 * Who is in the fleet: N clients spread over the stack's tenants, each with the identity a real
 * Configuration Manager client would have (docs/architecture.md § Data flow, § Simulators).
 *
 * - `device`: an Entra-joined machine; device token only.
 * - `device+user`: a machine with a signed-in user; device token for the client, user token for AdminService.
 * - `user-only`: a workgroup machine with a signed-in user and no device identity: it falls back to the user
 *   token for everything (docs/architecture.md § Configuration Manager specifics: device token first, then user token).
 * - `admin`: a console user of a tenant with Administration Service Management on: its tokens are good for
 *   `/AdminService/` only, so it calls nothing else.
 * - `probe`: one per tenant that is disabled from the start (no users, no devices): it only proves that the
 *   gateway refuses to onboard it. Probes are not counted in N.
 */
import type { StackFileTenant } from "./stack-file.js";

/** A client's identity kind. */
export type ClientProfile = "device" | "device+user" | "user-only" | "admin" | "probe";

/** One simulated client. */
export interface PlannedClient {
  /** `c0001`… (probes: `probe-<tenant>`). */
  readonly id: string;
  readonly tenant: StackFileTenant;
  readonly profile: ClientProfile;
  readonly deviceId?: string;
  readonly user?: { readonly upn: string; readonly password: string };
  /** NetBIOS name it registers with. */
  readonly hostname: string;
}

/** Can the tenant host clients? Enabled at start, with devices or users. */
function hostsClients(t: StackFileTenant): boolean {
  return !t.disabled && (t.devices.length > 0 || t.users.length > 0);
}

/**
 * Plans `count` clients round-robin over the tenants that can host them (devices are reused once a tenant's
 * are all taken), plus one probe per tenant disabled from the start.
 */
export function planFleet(tenants: readonly StackFileTenant[], count: number): PlannedClient[] {
  const hosts = tenants.filter(hostsClients);
  if (hosts.length === 0 && count > 0) throw new Error("no enabled tenant with devices or users in stack.json");
  const perTenant = new Map<string, number>();
  const clients: PlannedClient[] = [];
  for (let i = 0; i < count; i++) {
    const tenant = hosts[i % hosts.length]!;
    const k = perTenant.get(tenant.id) ?? 0;
    perTenant.set(tenant.id, k + 1);
    const id = `c${String(i + 1).padStart(4, "0")}`;
    const hostname = `SIM${String(i + 1).padStart(5, "0")}`;
    // Skip the seeded admin (users[0]) when there are ordinary users.
    const users = tenant.users.length > 1 ? tenant.users.slice(1) : tenant.users;
    const user = users.length > 0 ? users[k % users.length] : undefined;
    const device = tenant.devices.length > 0 ? tenant.devices[k % tenant.devices.length] : undefined;
    let profile: ClientProfile;
    if (tenant.adminServiceManagement === true && user) profile = "admin";
    else if (!device) profile = "user-only";
    else if (!user) profile = "device";
    else if (k % 10 === 9) profile = "user-only";
    else if (k % 3 === 1) profile = "device+user";
    else profile = "device";
    clients.push({
      id,
      tenant,
      profile,
      hostname,
      ...(profile === "device" || profile === "device+user" ? { deviceId: device!.deviceId } : {}),
      ...(profile !== "device" && user ? { user } : {}),
    });
  }
  for (const tenant of tenants) {
    if (!tenant.disabled || hostsClients(tenant)) continue;
    const short = tenant.name.split(".")[0] ?? tenant.id;
    clients.push({ id: `probe-${short}`, tenant, profile: "probe", hostname: "PROBE" });
  }
  return clients;
}

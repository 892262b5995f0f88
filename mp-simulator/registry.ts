/**
 * Which clients has this site registered? `MP_ClientRegistration` adds them; `MP_PolicyManager`,
 * AdminService `Device` and WMI `SMS_R_System` read them.
 */
import { createHash } from "node:crypto";

/**
 * Registration approval: `"3"` for clients that registered with an Entra device identity (approved by
 * Entra), `"0"` (not approved) for a client that presented only a user identity. *(model)*
 */
export type ApprovalStatus = "0" | "3";

/** A registered client. */
export interface RegisteredClient {
  /** `GUID:{uuid}` as CM writes SMS unique identifiers. */
  readonly smsId: string;
  /** The site's resource ID (SMS_R_System.ResourceId). */
  readonly resourceId: number;
  readonly tenantId: string;
  readonly deviceId?: string;
  readonly userObjectId?: string;
  readonly netbiosName: string;
  readonly fqdn?: string;
  readonly clientVersion: string;
  readonly approval: ApprovalStatus;
  readonly registeredAt: string;
  lastPolicyRequestAt?: string;
}

/** What a registration request states. */
export interface RegistrationInput {
  readonly tenantId: string;
  readonly deviceId?: string;
  readonly userObjectId?: string;
  readonly netbiosName: string;
  readonly fqdn?: string;
  readonly clientVersion?: string;
}

/** The registry of clients. */
export interface ClientRegistry {
  /** Registers (or re-registers, keeping the SMSID) a client. */
  register(input: RegistrationInput): RegisteredClient;
  findBySmsId(smsId: string): RegisteredClient | undefined;
  findByDevice(tenantId: string, deviceId: string): RegisteredClient | undefined;
  list(): RegisteredClient[];
}

function guidFrom(key: string): string {
  const h = createHash("sha256").update(key).digest("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`.toUpperCase();
}

/** Creates an empty registry; resource IDs start at 16777220 as a fresh CM site's systems do. */
export function createClientRegistry(options: { maxClients?: number; now?: () => number } = {}): ClientRegistry {
  const now = options.now ?? Date.now;
  const maxClients = options.maxClients ?? 100_000;
  const byKey = new Map<string, RegisteredClient>();
  const bySmsId = new Map<string, RegisteredClient>();
  let nextResourceId = 16_777_220;
  const keyOf = (i: RegistrationInput) =>
    i.deviceId
      ? `${i.tenantId}/device/${i.deviceId}`
      : `${i.tenantId}/user/${i.userObjectId}/${i.netbiosName.toLowerCase()}`;
  return {
    register(input) {
      const key = keyOf(input);
      const previous = byKey.get(key);
      if (!previous && byKey.size >= maxClients) throw new Error("client registry is full");
      const client: RegisteredClient = {
        smsId: previous?.smsId ?? `GUID:${guidFrom(key)}`,
        resourceId: previous?.resourceId ?? nextResourceId++,
        tenantId: input.tenantId,
        ...(input.deviceId ? { deviceId: input.deviceId } : {}),
        ...(input.userObjectId ? { userObjectId: input.userObjectId } : {}),
        netbiosName: input.netbiosName,
        ...(input.fqdn ? { fqdn: input.fqdn } : {}),
        clientVersion: input.clientVersion ?? "5.00.9128.1000",
        approval: input.deviceId ? "3" : "0",
        registeredAt: new Date(now()).toISOString(),
      };
      byKey.set(key, client);
      bySmsId.set(client.smsId.toUpperCase(), client);
      return client;
    },
    findBySmsId: (smsId) => bySmsId.get(smsId.toUpperCase()),
    findByDevice: (tenantId, deviceId) => byKey.get(`${tenantId}/device/${deviceId}`),
    list: () => [...byKey.values()],
  };
}

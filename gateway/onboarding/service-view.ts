/**
 * How configured services are shown: a table (`services list`), a detail page (`services show`) or JSON,
 * with the web app secret's expiry status as Configuration Manager's console notifications (CM 2006+) tell
 * it: expired, expiring within 30 days, ok. Secrets are shown by reference only (an inline value by its
 * first three characters).
 */
import type { ParsedAzureService } from "../config/schema.js";
import { SECRET_EXPIRY_WARNING_MS } from "../config/validate/services.js";
import { describeSecretSource } from "./secret-store.js";

/** A web app secret's expiry status. */
export type SecretStatus = "expired" | "expiring" | "ok" | "unknown";

/** Status and days left (negative once expired; undefined without an expiry date). */
export interface SecretExpiry {
  readonly status: SecretStatus;
  readonly expiresAt: string | undefined;
  readonly daysLeft: number | undefined;
}

/**
 * The secret expiry status of a service's web app.
 *
 * @param secretExpiry the configured `secretExpiry` (date or date-time)
 * @param nowMs the current time
 */
export function secretExpiryOf(secretExpiry: string | undefined, nowMs: number): SecretExpiry {
  if (secretExpiry === undefined) return { status: "unknown", expiresAt: undefined, daysLeft: undefined };
  const at = Date.parse(secretExpiry);
  if (Number.isNaN(at)) return { status: "unknown", expiresAt: secretExpiry, daysLeft: undefined };
  const left = at - nowMs;
  const daysLeft = Math.floor(left / 86_400_000);
  const status: SecretStatus = left <= 0 ? "expired" : left <= SECRET_EXPIRY_WARNING_MS ? "expiring" : "ok";
  return { status, expiresAt: secretExpiry, daysLeft };
}

/** One line of human text for an expiry status. */
export function describeExpiry(expiry: SecretExpiry): string {
  switch (expiry.status) {
    case "unknown":
      return "no expiry date configured";
    case "expired":
      return `EXPIRED on ${expiry.expiresAt} (${-(expiry.daysLeft ?? 0)} days ago): renew it`;
    case "expiring":
      return `expires on ${expiry.expiresAt} (in ${expiry.daysLeft} days): renew it soon`;
    case "ok":
      return `ok, expires on ${expiry.expiresAt} (in ${expiry.daysLeft} days)`;
  }
}

/** The JSON form of a service (`services list --json`, `services show --json`). */
export interface ServiceView {
  readonly name: string;
  readonly description: string;
  readonly type: ParsedAzureService["type"];
  readonly environment: ParsedAzureService["environment"];
  readonly adminServiceManagement: boolean;
  readonly disableAuthentication: boolean;
  readonly tenant: { readonly id: string; readonly name: string };
  readonly webApp: {
    readonly name: string;
    readonly clientId: string;
    readonly appIdUri: string;
    readonly origin: "imported" | "created";
    /** The secret's source, never its value. */
    readonly secret: string;
    readonly secretExpiry: string | undefined;
    readonly secretStatus: SecretStatus;
    readonly secretDaysLeft: number | undefined;
  };
  readonly nativeApp: { readonly name: string; readonly clientId: string } | undefined;
  /** Other services using the same web app registration. */
  readonly sharesWebAppWith: readonly string[];
}

/**
 * Builds the view of each service.
 *
 * @param services the parsed services
 * @param nowMs the current time
 */
export function viewServices(services: readonly ParsedAzureService[], nowMs: number): ServiceView[] {
  return services.map((s) => {
    const expiry = secretExpiryOf(s.webApp.secretExpiry, nowMs);
    return {
      name: s.name,
      description: s.description,
      type: s.type,
      environment: s.environment,
      adminServiceManagement: s.adminServiceManagement,
      disableAuthentication: s.disableAuthentication,
      tenant: { id: s.tenant.id, name: s.tenant.name },
      webApp: {
        name: s.webApp.name,
        clientId: s.webApp.clientId,
        appIdUri: s.webApp.appIdUri,
        origin: s.webApp.origin,
        secret: describeSecretSource(s.webApp.secret),
        secretExpiry: s.webApp.secretExpiry,
        secretStatus: expiry.status,
        secretDaysLeft: expiry.daysLeft,
      },
      nativeApp: s.nativeApp === undefined ? undefined : { name: s.nativeApp.name, clientId: s.nativeApp.clientId },
      sharesWebAppWith: services
        .filter(
          (o) =>
            o !== s &&
            o.tenant.id.toLowerCase() === s.tenant.id.toLowerCase() &&
            o.webApp.clientId.toLowerCase() === s.webApp.clientId.toLowerCase(),
        )
        .map((o) => o.name),
    };
  });
}

/**
 * A table of services, one per line.
 *
 * @param views as built by {@link viewServices}
 */
export function renderTable(views: readonly ServiceView[]): string {
  const header = ["NAME", "TYPE", "ENVIRONMENT", "TENANT", "WEB APP", "NATIVE APP", "AUTH", "SECRET"];
  const rows = views.map((v) => [
    v.name,
    v.type,
    v.environment,
    v.tenant.name,
    `${v.webApp.name} (${v.webApp.origin})`,
    v.nativeApp?.name ?? "-",
    v.type !== "cloudManagement" ? "-" : v.disableAuthentication ? "disabled" : "enabled",
    v.webApp.secretStatus === "unknown"
      ? "no expiry"
      : `${v.webApp.secretStatus} (${v.webApp.secretExpiry?.slice(0, 10) ?? ""})`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  return [header, ...rows]
    .map((r) =>
      r
        .map((cell, i) => cell.padEnd(widths[i] ?? 0))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}

/**
 * The detail page of one service.
 *
 * @param v the service's view
 * @param nowMs the current time
 */
export function renderDetails(v: ServiceView, nowMs: number): string {
  const expiry = secretExpiryOf(v.webApp.secretExpiry, nowMs);
  const lines: [string, string][] = [
    ["Name", v.name],
    ["Description", v.description === "" ? "-" : v.description],
    ["Service type", v.type],
    ["Azure environment", v.environment],
    ["Tenant", `${v.tenant.name} (${v.tenant.id})`],
    ...(v.type === "cloudManagement" && v.adminServiceManagement
      ? ([
          ["Administration Service Management", "on (deprecated flag: add a service of type adminServiceManagement)"],
        ] as [string, string][])
      : []),
    [
      "Entra authentication",
      v.type !== "cloudManagement" ? "n/a" : v.disableAuthentication ? "DISABLED for this tenant" : "enabled",
    ],
    ["Web app", `${v.webApp.name} (${v.webApp.origin})`],
    ["  Client ID", v.webApp.clientId],
    ["  App ID URI", v.webApp.appIdUri],
    ["  Secret", v.webApp.secret],
    ["  Secret expiry", describeExpiry(expiry)],
    ["Native app", v.nativeApp === undefined ? "-" : v.nativeApp.name],
  ];
  if (v.nativeApp !== undefined) {
    lines.push(["  Client ID", v.nativeApp.clientId]);
    lines.push(["  Redirect URI", `ms-appx-web://Microsoft.AAD.BrokerPlugin/${v.nativeApp.clientId}`]);
  }
  if (v.sharesWebAppWith.length > 0) lines.push(["Web app shared with", v.sharesWebAppWith.join(", ")]);
  const width = Math.max(...lines.map(([k]) => k.length)) + 1;
  return lines.map(([k, val]) => `${`${k}:`.padEnd(width + 1)}${val}`).join("\n");
}

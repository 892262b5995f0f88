/**
 * The `azureServices` section. Cross-field rules are the Azure Services Wizard's *Service details* table
 * (docs/architecture.md § Configuration model):
 *
 * | service | tenants | clouds | web app | native app | actions |
 * |---|---|---|---|---|---|
 * | cloud management | many, each distinct | public, US Gov | yes | yes | import, create |
 * | Administration Service Management (CM 2207+, CMG VMSS only) | one per cloud management tenant | as that tenant | yes | yes | import, create |
 * | Log Analytics | one | public, US Gov | yes | no | import (removed in CM 2107: warning) |
 * | Store for Business | one | public | yes | no | import, create |
 *
 * plus App ID URI formats (`app-id-uri.ts`), secrets resolved (`secrets.ts`) and secret-expiry warnings.
 */
import type { ParsedAzureService, ServiceType } from "../schema.js";
import type { AzureService } from "../types.js";
import { checkAppIdUri } from "./app-id-uri.js";
import type { ValidationContext } from "./context.js";
import { resolveSecret } from "./secrets.js";

/** Warn this long before a web app secret expires (CM 2006+ console notification). */
export const SECRET_EXPIRY_WARNING_MS = 30 * 86_400_000;

/** A service that parsed on its own, with its position in `azureServices`. */
export interface IndexedService {
  readonly index: number;
  readonly service: ParsedAzureService;
}

function serviceWhere(index: number, service: ParsedAzureService): string {
  return `azureServices[${index}] (${JSON.stringify(service.name)})`;
}

/**
 * Resolves one service (secret, lower-cased GUIDs) and checks its App ID URI and secret expiry.
 *
 * @returns the resolved service, or undefined when its secret cannot be resolved (a problem says why)
 */
export function resolveService(
  service: ParsedAzureService,
  index: number,
  ctx: ValidationContext,
): AzureService | undefined {
  const where = serviceWhere(index, service);
  const tenantId = service.tenant.id.toLowerCase();
  const secret = resolveSecret(service.webApp.secret, `${where}.webApp.secret`, ctx);
  checkAppIdUri(service.webApp.appIdUri, tenantId, service.webApp.clientId, `${where}.webApp.appIdUri`, ctx);

  let secretExpiresAtMs: number | undefined;
  if (service.webApp.secretExpiry !== undefined) {
    secretExpiresAtMs = Date.parse(service.webApp.secretExpiry);
    const left = secretExpiresAtMs - ctx.now();
    if (left <= 0) {
      ctx.warn(`${where}.webApp.secretExpiry`, `the web app secret expired on ${service.webApp.secretExpiry}`);
    } else if (left <= SECRET_EXPIRY_WARNING_MS) {
      ctx.warn(`${where}.webApp.secretExpiry`, `the web app secret expires on ${service.webApp.secretExpiry}`);
    }
  }
  if (
    service.nativeApp !== undefined &&
    service.nativeApp.clientId.toLowerCase() === service.webApp.clientId.toLowerCase()
  ) {
    ctx.warn(where, "nativeApp and webApp are the same app registration; CM expects a separate public client app");
  }
  if (secret === undefined) return undefined;
  return {
    name: service.name,
    description: service.description,
    type: service.type,
    environment: service.environment,
    adminServiceManagement: service.adminServiceManagement,
    tenant: { id: tenantId, name: service.tenant.name },
    webApp: {
      name: service.webApp.name,
      clientId: service.webApp.clientId.toLowerCase(),
      appIdUri: service.webApp.appIdUri,
      secret,
      secretExpiry: service.webApp.secretExpiry,
      secretExpiresAtMs,
      origin: service.webApp.origin,
    },
    nativeApp:
      service.nativeApp === undefined
        ? undefined
        : { name: service.nativeApp.name, clientId: service.nativeApp.clientId.toLowerCase() },
    disableAuthentication: service.disableAuthentication,
  };
}

/** The *Service details* table. */
export function checkServiceDetails(services: readonly IndexedService[], ctx: ValidationContext): void {
  const names = new Map<string, number>();
  const cmTenants = new Map<string, number>();
  const countByType = new Map<ServiceType, number[]>();
  for (const { index, service } of services) {
    const where = serviceWhere(index, service);
    const nameKey = service.name.toLowerCase();
    const sameName = names.get(nameKey);
    if (sameName !== undefined) ctx.problem(where, `name repeats azureServices[${sameName}]`);
    else names.set(nameKey, index);
    const ofType = countByType.get(service.type) ?? [];
    ofType.push(index);
    countByType.set(service.type, ofType);

    switch (service.type) {
      case "cloudManagement": {
        // Multiple tenants, each a distinct Entra tenant.
        const tenant = service.tenant.id.toLowerCase();
        const other = cmTenants.get(tenant);
        if (other !== undefined) {
          ctx.problem(where, `tenant ${tenant} is already used by cloud management service azureServices[${other}]`);
        } else cmTenants.set(tenant, index);
        if (service.nativeApp === undefined) {
          ctx.problem(where, "cloud management needs a nativeApp (the client app clients request tokens with)");
        }
        if (service.adminServiceManagement) {
          // Migration from the flag to the service type: keep the segmentation (fail closed), say how to move on.
          ctx.warn(
            `${where}.adminServiceManagement`,
            "deprecated: Administration Service Management is now its own service (type: adminServiceManagement) " +
              "with its own web and native app. Until you add one for this tenant, this flag only takes /AdminService/ " +
              "away from this tenant's cloud management tokens; its clients keep authenticating everywhere else. " +
              "Add the service (entra-gateway-services add --type adminServiceManagement), then remove this key",
          );
        }
        break;
      }
      case "adminServiceManagement":
        if (service.nativeApp === undefined) {
          ctx.problem(
            where,
            "Administration Service Management needs a nativeApp (the app AdminService tools sign in with)",
          );
        }
        if (service.adminServiceManagement)
          ctx.problem(where, "adminServiceManagement applies to cloud management only");
        // The seed's note on the option.
        ctx.warn(
          where,
          "Administration Service Management applies only to CMG virtual machine scale set (VMSS) deployments, not classic CMG",
        );
        break;
      case "logAnalytics":
        if (service.nativeApp !== undefined) ctx.problem(where, "Log Analytics uses a web app only, no nativeApp");
        if (service.webApp.origin !== "imported") {
          ctx.problem(where, "Log Analytics apps can only be imported (webApp.origin: imported)");
        }
        if (service.adminServiceManagement)
          ctx.problem(where, "adminServiceManagement applies to cloud management only");
        ctx.warn(where, "the Log Analytics Connector was removed from Configuration Manager in version 2107");
        break;
      case "storeForBusiness":
        if (service.nativeApp !== undefined) ctx.problem(where, "Store for Business uses a web app only, no nativeApp");
        if (service.environment !== "AzurePublicCloud") {
          ctx.problem(where, `Store for Business supports AzurePublicCloud only, not ${service.environment}`);
        }
        if (service.adminServiceManagement)
          ctx.problem(where, "adminServiceManagement applies to cloud management only");
        break;
    }
    if (service.type !== "cloudManagement" && service.disableAuthentication) {
      // An Administration Service Management service follows its tenant's cloud management flag.
      ctx.warn(where, "disableAuthentication has no effect outside cloud management services");
    }
  }
  for (const type of ["logAnalytics", "storeForBusiness"] as const) {
    const indexes = countByType.get(type) ?? [];
    if (indexes.length > 1) {
      ctx.problem(
        "azureServices",
        `${type === "logAnalytics" ? "Log Analytics" : "Store for Business"} allows one tenant, found ${indexes.length} (azureServices[${indexes.join("], azureServices[")}])`,
      );
    }
  }
  checkAdminServiceTenants(services, ctx);
  if ((countByType.get("cloudManagement") ?? []).length === 0) {
    ctx.warn("azureServices", "no cloud management service: every Entra-authenticated route will be refused");
  }
}

/**
 * Administration Service Management segments a cloud management tenant's privileges: one per tenant, and
 * only for a tenant that has a cloud management service in the same environment.
 */
function checkAdminServiceTenants(services: readonly IndexedService[], ctx: ValidationContext): void {
  const cm = new Map<string, ParsedAzureService>();
  for (const { service } of services) {
    if (service.type === "cloudManagement") cm.set(service.tenant.id.toLowerCase(), service);
  }
  const seen = new Map<string, number>();
  for (const { index, service } of services) {
    if (service.type !== "adminServiceManagement") continue;
    const where = serviceWhere(index, service);
    const tenant = service.tenant.id.toLowerCase();
    const other = seen.get(tenant);
    if (other !== undefined) {
      ctx.problem(where, `tenant ${tenant} already has Administration Service Management (azureServices[${other}])`);
    } else seen.set(tenant, index);
    const owner = cm.get(tenant);
    if (owner === undefined) {
      ctx.problem(
        where,
        `tenant ${tenant} has no cloud management service: Administration Service Management segments one`,
      );
    } else if (owner.environment !== service.environment) {
      ctx.problem(
        where,
        `environment ${service.environment} differs from its cloud management service's (${owner.environment})`,
      );
    } else if (
      owner.webApp.clientId.toLowerCase() === service.webApp.clientId.toLowerCase() ||
      owner.webApp.appIdUri.replace(/\/$/, "") === service.webApp.appIdUri.replace(/\/$/, "")
    ) {
      ctx.problem(
        where,
        "webApp must be its own app registration, not the cloud management web app (the seed: segment privileges)",
      );
    }
  }
}

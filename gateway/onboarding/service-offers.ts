/**
 * What the wizard offers for each service type (docs/architecture.md § Configuration model, *Service details*): which
 * Azure environments, whether a native app is used, and which actions (import, create) exist for the apps.
 * The CLI uses it to ask only sensible questions and to refuse an impossible choice before anything is
 * created in Entra; `validateConfig` remains the authority on the resulting file.
 */
import type { EnvironmentName, ServiceType } from "../config/schema.js";

/** How an app of a new service is obtained. */
export type AppAction = "import" | "create" | "reuse";

/** The wizard's offer for one service type. */
export interface ServiceOffer {
  readonly label: string;
  readonly environments: readonly EnvironmentName[];
  /** How many services of this type the configuration may hold (each a distinct tenant). */
  readonly tenants: "multiple" | "one";
  readonly nativeApp: boolean;
  /** Import and/or create; reuse of an app already configured for the same tenant is always possible. */
  readonly actions: readonly Exclude<AppAction, "reuse">[];
  /** Printed when the type is chosen. */
  readonly notice?: string;
}

/** The *Service details* table. */
export const SERVICE_OFFERS: Readonly<Record<ServiceType, ServiceOffer>> = Object.freeze({
  cloudManagement: {
    label: "Cloud management (Microsoft Entra authentication and user discovery)",
    environments: ["AzurePublicCloud", "AzureUSGovernmentCloud"],
    tenants: "multiple",
    nativeApp: true,
    actions: ["import", "create"],
  },
  adminServiceManagement: {
    label: "Administration Service Management (CM 2207+)",
    environments: ["AzurePublicCloud", "AzureUSGovernmentCloud"],
    tenants: "multiple",
    nativeApp: true,
    actions: ["import", "create"],
    notice:
      "Administration Service Management gives AdminService its own web and native app: their tokens reach only /AdminService/, and the tenant's cloud management tokens lose /AdminService/ (its clients keep authenticating everywhere else). Only CMG virtual machine scale set (VMSS) deployments can enable it, not classic CMG.",
  },
  logAnalytics: {
    label: "Log Analytics Connector",
    environments: ["AzurePublicCloud", "AzureUSGovernmentCloud"],
    tenants: "one",
    nativeApp: false,
    actions: ["import"],
    notice:
      "The Log Analytics Connector was deprecated in November 2020 and removed from Configuration Manager in version 2107; its web app can only be imported.",
  },
  storeForBusiness: {
    label: "Microsoft Store for Business",
    environments: ["AzurePublicCloud"],
    tenants: "one",
    nativeApp: false,
    actions: ["import", "create"],
  },
});

/** A service already in the configuration, as far as the offer rules care. */
export interface ExistingService {
  readonly name: string;
  readonly type: ServiceType;
  readonly tenantId: string;
}

/** The choices of a new service that the offer rules judge. */
export interface ServiceChoice {
  readonly name: string;
  readonly type: ServiceType;
  readonly environment: EnvironmentName;
  readonly tenantId: string;
  readonly adminServiceManagement: boolean;
  readonly webAction: AppAction;
  readonly nativeAction: AppAction | undefined;
}

/**
 * Every reason the wizard would not offer this choice, worded for the admin.
 *
 * @param choice the new service
 * @param existing the services already configured
 */
export function checkServiceChoice(choice: ServiceChoice, existing: readonly ExistingService[]): string[] {
  const offer = SERVICE_OFFERS[choice.type];
  const problems: string[] = [];
  const sameName = existing.find((s) => s.name.toLowerCase() === choice.name.toLowerCase());
  if (sameName) problems.push(`a service named ${JSON.stringify(sameName.name)} already exists`);
  if (!offer.environments.includes(choice.environment)) {
    problems.push(`${offer.label} supports ${offer.environments.join(" only, ")} only, not ${choice.environment}`);
  }
  const ofType = existing.filter((s) => s.type === choice.type);
  if (offer.tenants === "one" && ofType.length > 0) {
    problems.push(
      `${offer.label} allows one tenant, and service ${JSON.stringify(ofType[0]?.name)} (tenant ${ofType[0]?.tenantId}) already connects it; remove that service first`,
    );
  }
  if (offer.tenants === "multiple") {
    const sameTenant = ofType.find((s) => s.tenantId.toLowerCase() === choice.tenantId.toLowerCase());
    if (sameTenant) {
      problems.push(
        `tenant ${choice.tenantId} already has a ${choice.type} service (${JSON.stringify(sameTenant.name)}); each instance must be a distinct tenant`,
      );
    }
  }
  if (choice.webAction !== "reuse" && !offer.actions.includes(choice.webAction)) {
    const done = { import: "imported", create: "created" } as const;
    problems.push(
      `${offer.label} web apps can only be ${offer.actions.map((a) => done[a]).join(" or ")}, not ${done[choice.webAction]}`,
    );
  }
  if (offer.nativeApp && choice.nativeAction === undefined) {
    problems.push(`${offer.label} needs a native (client) app: import, create or reuse one`);
  }
  if (!offer.nativeApp && choice.nativeAction !== undefined) {
    problems.push(`${offer.label} uses a web app only, no native app`);
  }
  if (choice.adminServiceManagement) {
    problems.push(
      "--admin-service-management is replaced by its own service type: add a service with --type adminServiceManagement for this tenant",
    );
  }
  if (choice.type === "adminServiceManagement") {
    const cm = existing.find(
      (s) => s.type === "cloudManagement" && s.tenantId.toLowerCase() === choice.tenantId.toLowerCase(),
    );
    if (!cm) {
      problems.push(
        `tenant ${choice.tenantId} has no cloud management service: add that first (Administration Service Management segments it)`,
      );
    }
  }
  return problems;
}

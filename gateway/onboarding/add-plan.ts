/**
 * What `services add` is asked to do, from flags or from the wizard's pages as prompts: the service
 * (name, description, type, environment, Administration Service Management, tenant), then how the web app
 * and the native app are obtained (import, create, or reuse one already configured for the tenant).
 * Building the plan touches nothing; `add-service.ts` carries it out.
 */
import {
  ENVIRONMENT_NAMES,
  type EnvironmentName,
  GUID_PATTERN,
  SERVICE_TYPES,
  type ServiceType,
} from "../config/schema.js";
import type { AzureService } from "../config/types.js";
import type { Prompter } from "./prompt.js";
import { defaultSecretFile, type SecretDestination, toConfigPath } from "./secret-store.js";
import { type AppAction, SERVICE_OFFERS } from "./service-offers.js";

/** A secret the admin gives for an imported web app. */
export type SecretInput =
  | { readonly kind: "file"; readonly path: string }
  | { readonly kind: "env"; readonly name: string }
  | { readonly kind: "value"; readonly value: string };

/** How the web (server) app is obtained. */
export type WebAppPlan =
  | {
      readonly action: "import";
      readonly name: string;
      readonly clientId: string;
      readonly appIdUri: string;
      readonly secret: SecretInput;
      readonly secretExpiry: string | undefined;
    }
  | {
      readonly action: "create";
      readonly name: string;
      readonly homePageUrl: string;
      readonly appIdUri: string;
      readonly secretYears: 1 | 2;
    }
  | { readonly action: "reuse"; readonly from: string | undefined };

/** How the native (client) app is obtained. */
export type NativeAppPlan =
  | { readonly action: "import"; readonly name: string; readonly clientId: string }
  | { readonly action: "create"; readonly name: string; readonly replyUrl: string }
  | { readonly action: "reuse"; readonly from: string | undefined };

/** Everything `services add` needs. */
export interface AddPlan {
  readonly name: string;
  readonly description: string;
  readonly type: ServiceType;
  readonly environment: EnvironmentName;
  readonly adminServiceManagement: boolean;
  readonly tenantId: string;
  /** Undefined: taken from Graph after sign-in, or from the reused app's service. */
  readonly tenantName: string | undefined;
  readonly webApp: WebAppPlan;
  readonly nativeApp: NativeAppPlan | undefined;
  /** Where a secret value the CLI holds goes; default a file `secrets/{clientId}.secret`. */
  readonly secretDestination: SecretDestination | undefined;
  readonly verify: boolean;
}

/** Defaults the wizard proposes (Azure Services Wizard, "Create Server/Client Application dialog"). */
export const WIZARD_DEFAULTS = Object.freeze({
  webAppName: "ConfigMgrService",
  nativeAppName: "ConfigMgrClient",
  homePageUrl: "https://ConfigMgrService",
  replyUrl: "https://ConfigMgrService",
});

/**
 * The recommended App ID URI, `api://{tenantId}/{name}` (instead of the old default `https://ConfigMgrService`).
 *
 * @param tenantId the tenant GUID
 * @param appName the web app's name
 */
export function recommendedAppIdUri(tenantId: string, appName: string): string {
  return `api://${tenantId}/${appName.replace(/\s+/g, "")}`;
}

/** Parsed command-line flags of `services add`. */
export type AddFlags = Readonly<Record<string, string | boolean | undefined>>;

/** A usage problem in the flags. */
export class PlanError extends Error {}

function str(flags: AddFlags, name: string): string | undefined {
  const v = flags[name];
  return typeof v === "string" && v.trim() !== "" ? v.trim() : undefined;
}

function need(flags: AddFlags, name: string, why: string): string {
  const v = str(flags, name);
  if (v === undefined) throw new PlanError(`--${name} is required ${why}`);
  return v;
}

function guid(value: string, what: string): string {
  if (!GUID_PATTERN.test(value)) throw new PlanError(`${what} must be a GUID, got ${value}`);
  return value.toLowerCase();
}

function oneOf<T extends string>(value: string, allowed: readonly T[], what: string): T {
  const found = allowed.find((a) => a.toLowerCase() === value.toLowerCase());
  if (found === undefined) throw new PlanError(`${what} must be one of ${allowed.join(", ")}, got ${value}`);
  return found;
}

function years(value: string | undefined): 1 | 2 {
  if (value === undefined || value === "1") return 1;
  if (value === "2") return 2;
  throw new PlanError(`--secret-years must be 1 or 2 (Entra no longer offers "never"), got ${value}`);
}

function expiry(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (!/^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:\d{2}))?$/.test(value) || Number.isNaN(Date.parse(value))) {
    throw new PlanError(`secret expiry must be a date (2027-05-01) or date-time with offset, got ${value}`);
  }
  return value;
}

function secretInput(flags: AddFlags, cwd: string, configDir: string, prefix: string): SecretInput | undefined {
  const given = (["file", "env", "value"] as const).filter((k) => str(flags, `${prefix}secret-${k}`) !== undefined);
  if (given.length > 1) {
    throw new PlanError(`give one of --${prefix}secret-file, --${prefix}secret-env, --${prefix}secret-value`);
  }
  const file = str(flags, `${prefix}secret-file`);
  if (file !== undefined) return { kind: "file", path: toConfigPath(file, cwd, configDir) };
  const env = str(flags, `${prefix}secret-env`);
  if (env !== undefined) return { kind: "env", name: env };
  const value = str(flags, `${prefix}secret-value`);
  return value === undefined ? undefined : { kind: "value", value };
}

/**
 * Where a secret value held by the CLI goes: `--secret-out FILE`, `--secret-inline`, or undefined (default
 * file).
 *
 * @param flags the flags
 * @param cwd the working folder
 * @param configDir the configuration file's folder
 */
export function secretDestinationFromFlags(
  flags: AddFlags,
  cwd: string,
  configDir: string,
): SecretDestination | undefined {
  const out = str(flags, "secret-out");
  if (out !== undefined && flags["secret-inline"] === true)
    throw new PlanError("give --secret-out or --secret-inline, not both");
  if (out !== undefined) return { kind: "file", path: toConfigPath(out, cwd, configDir) };
  return flags["secret-inline"] === true ? { kind: "inline" } : undefined;
}

function webAction(flags: AddFlags, type: ServiceType): AppAction {
  const given = str(flags, "web-app");
  if (given !== undefined) return oneOf(given, ["import", "create", "reuse"] as const, "--web-app");
  if (str(flags, "reuse-web-from") !== undefined) return "reuse";
  if (str(flags, "web-client-id") !== undefined) return "import";
  return SERVICE_OFFERS[type].actions.includes("create") ? "create" : "import";
}

function nativeAction(flags: AddFlags, type: ServiceType): AppAction | undefined {
  const given = str(flags, "native-app");
  if (given !== undefined) return oneOf(given, ["import", "create", "reuse"] as const, "--native-app");
  if (!SERVICE_OFFERS[type].nativeApp) return undefined;
  if (str(flags, "reuse-native-from") !== undefined) return "reuse";
  if (str(flags, "native-client-id") !== undefined) return "import";
  return "create";
}

/**
 * Builds the plan from flags alone (non-interactive).
 *
 * @param flags the parsed flags
 * @param cwd the working folder (paths typed on the command line)
 * @param configDir the configuration file's folder
 * @throws PlanError naming the missing or wrong flag
 */
export function planFromFlags(flags: AddFlags, cwd: string, configDir: string): AddPlan {
  const name = need(flags, "name", "(the service's name)");
  const type = oneOf(
    need(flags, "type", "(cloudManagement, adminServiceManagement, logAnalytics or storeForBusiness)"),
    SERVICE_TYPES,
    "--type",
  );
  const environment = oneOf(str(flags, "environment") ?? "AzurePublicCloud", ENVIRONMENT_NAMES, "--environment");
  const tenantId = guid(need(flags, "tenant-id", "(the Entra tenant GUID)"), "--tenant-id");
  const web = webAction(flags, type);
  let webApp: WebAppPlan;
  if (web === "import") {
    const webAppName = need(flags, "web-app-name", "to import a web app");
    const secret = secretInput(flags, cwd, configDir, "web-");
    if (secret === undefined) {
      throw new PlanError(
        "an imported web app needs its secret: --web-secret-file, --web-secret-env or --web-secret-value",
      );
    }
    webApp = {
      action: "import",
      name: webAppName,
      clientId: guid(need(flags, "web-client-id", "to import a web app"), "--web-client-id"),
      appIdUri: need(flags, "web-app-id-uri", "to import a web app"),
      secret,
      secretExpiry: expiry(str(flags, "web-secret-expiry")),
    };
  } else if (web === "create") {
    const webAppName = str(flags, "web-app-name") ?? WIZARD_DEFAULTS.webAppName;
    webApp = {
      action: "create",
      name: webAppName,
      homePageUrl: str(flags, "home-page-url") ?? WIZARD_DEFAULTS.homePageUrl,
      appIdUri: str(flags, "web-app-id-uri") ?? recommendedAppIdUri(tenantId, webAppName),
      secretYears: years(str(flags, "secret-years")),
    };
  } else {
    webApp = { action: "reuse", from: str(flags, "reuse-web-from") };
  }
  const native = nativeAction(flags, type);
  let nativeApp: NativeAppPlan | undefined;
  if (native === "import") {
    nativeApp = {
      action: "import",
      name: str(flags, "native-app-name") ?? WIZARD_DEFAULTS.nativeAppName,
      clientId: guid(need(flags, "native-client-id", "to import a native app"), "--native-client-id"),
    };
  } else if (native === "create") {
    nativeApp = {
      action: "create",
      name: str(flags, "native-app-name") ?? WIZARD_DEFAULTS.nativeAppName,
      replyUrl: str(flags, "reply-url") ?? WIZARD_DEFAULTS.replyUrl,
    };
  } else if (native === "reuse") {
    nativeApp = { action: "reuse", from: str(flags, "reuse-native-from") };
  }
  return {
    name,
    description: str(flags, "description") ?? "",
    type,
    environment,
    adminServiceManagement: flags["admin-service-management"] === true,
    tenantId,
    tenantName: str(flags, "tenant-name"),
    webApp,
    nativeApp,
    secretDestination: secretDestinationFromFlags(flags, cwd, configDir),
    verify: flags["no-verify"] !== true,
  };
}

async function askGuid(p: Prompter, question: string, given: string | undefined): Promise<string> {
  if (given !== undefined) return guid(given, question);
  for (;;) {
    const answer = await p.ask(question);
    if (GUID_PATTERN.test(answer)) return answer.toLowerCase();
    p.say("  must be a GUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)");
  }
}

async function askExpiry(p: Prompter): Promise<string | undefined> {
  for (;;) {
    const answer = await p.ask("Secret key expiry (YYYY-MM-DD, empty if unknown)", "");
    try {
      return expiry(answer === "" ? undefined : answer);
    } catch (err) {
      p.say(`  ${(err as Error).message}`);
    }
  }
}

async function askSecretInput(p: Prompter, flags: AddFlags, cwd: string, configDir: string): Promise<SecretInput> {
  const given = secretInput(flags, cwd, configDir, "web-");
  if (given !== undefined) return given;
  const kind = await p.choose(
    "Secret key: where is it",
    [
      { value: "file", label: "in a file (recommended; the configuration references it)" },
      { value: "env", label: "in an environment variable of the gateway" },
      { value: "value", label: "I will type it (stored in a file of its own unless you choose inline)" },
    ] as const,
    "file",
  );
  if (kind === "file") return { kind, path: toConfigPath(await p.ask("Secret file path"), cwd, configDir) };
  if (kind === "env") return { kind, name: await p.ask("Environment variable name") };
  return { kind, value: await p.askSecret("Secret key") };
}

/** Services of the tenant that have a web (or native) app to reuse. */
function reuseCandidates(services: readonly AzureService[], tenantId: string, native: boolean): AzureService[] {
  return services.filter((s) => s.tenant.id === tenantId && (!native || s.nativeApp !== undefined));
}

/**
 * Builds the plan by asking for everything the flags did not give, page by page as the wizard does.
 *
 * @param p the prompter
 * @param flags flags given with `--interactive` (their answers are not asked again)
 * @param existing services already configured (for reuse and defaults)
 * @param cwd the working folder
 * @param configDir the configuration file's folder
 */
export async function planInteractively(
  p: Prompter,
  flags: AddFlags,
  existing: readonly AzureService[],
  cwd: string,
  configDir: string,
): Promise<AddPlan> {
  p.say("Azure Services Wizard: add a service. Press Enter to take the [default].");
  p.say("");
  p.say("— Azure Services —");
  const name = str(flags, "name") ?? (await p.ask("Name"));
  const description = str(flags, "description") ?? (await p.ask("Description (optional)", ""));
  const givenType = str(flags, "type");
  const type =
    givenType !== undefined
      ? oneOf(givenType, SERVICE_TYPES, "--type")
      : await p.choose(
          "Azure service",
          SERVICE_TYPES.map((t) => ({ value: t, label: SERVICE_OFFERS[t].label })),
          "cloudManagement",
        );
  const offer = SERVICE_OFFERS[type];
  if (offer.notice !== undefined) p.say(`Note: ${offer.notice}`);

  p.say("");
  p.say("— App —");
  const givenEnv = str(flags, "environment");
  let environment: EnvironmentName;
  if (givenEnv !== undefined) environment = oneOf(givenEnv, ENVIRONMENT_NAMES, "--environment");
  else if (offer.environments.length === 1) {
    environment = offer.environments[0] as EnvironmentName;
    p.say(`Azure environment: ${environment} (the only one ${offer.label} supports)`);
  } else {
    environment = await p.choose(
      "Azure environment",
      offer.environments.map((e) => ({ value: e, label: e })),
      "AzurePublicCloud",
    );
  }
  // Administration Service Management is its own service type now (`--type adminServiceManagement`); the
  // old flag is only carried so the wizard rules can say so.
  const adminServiceManagement = flags["admin-service-management"] === true;
  const tenantId = await askGuid(p, "Microsoft Entra tenant ID", str(flags, "tenant-id"));
  const knownTenantName = existing.find((s) => s.tenant.id === tenantId)?.tenant.name;

  const webCandidates = reuseCandidates(existing, tenantId, false);
  const webChoices = [
    ...offer.actions.map((a) =>
      a === "import"
        ? { value: "import" as AppAction, label: "Import a web app already registered in Entra ID" }
        : { value: "create" as AppAction, label: "Create a web app in Entra ID (administrator sign-in)" },
    ),
    ...(webCandidates.length > 0
      ? [
          {
            value: "reuse" as AppAction,
            label: `Reuse a web app of this tenant (${webCandidates.map((s) => s.name).join(", ")})`,
          },
        ]
      : []),
  ];
  const givenWeb = str(flags, "web-app");
  const web =
    givenWeb !== undefined
      ? oneOf(givenWeb, ["import", "create", "reuse"] as const, "--web-app")
      : await p.choose("Web app (server app)", webChoices, webChoices[0]?.value);
  let tenantName = str(flags, "tenant-name");
  let webApp: WebAppPlan;
  if (web === "import") {
    tenantName ??= await p.ask("Microsoft Entra tenant name", knownTenantName);
    const appName = str(flags, "web-app-name") ?? (await p.ask("Application name", WIZARD_DEFAULTS.webAppName));
    const clientId = await askGuid(p, "Client ID", str(flags, "web-client-id"));
    const secret = await askSecretInput(p, flags, cwd, configDir);
    const secretExpiry = expiry(str(flags, "web-secret-expiry")) ?? (await askExpiry(p));
    const appIdUri =
      str(flags, "web-app-id-uri") ?? (await p.ask("App ID URI", recommendedAppIdUri(tenantId, appName)));
    webApp = { action: "import", name: appName, clientId, appIdUri, secret, secretExpiry };
  } else if (web === "create") {
    const appName = str(flags, "web-app-name") ?? (await p.ask("Application name", WIZARD_DEFAULTS.webAppName));
    const homePageUrl = str(flags, "home-page-url") ?? (await p.ask("HomePage URL", WIZARD_DEFAULTS.homePageUrl));
    p.say(
      "App ID URI: api://{tenantId}/{name} or https://{verified-domain}/{name} are recommended; the old default https://ConfigMgrService still works but is discouraged.",
    );
    const appIdUri =
      str(flags, "web-app-id-uri") ?? (await p.ask("App ID URI", recommendedAppIdUri(tenantId, appName)));
    const secretYears =
      str(flags, "secret-years") !== undefined
        ? years(str(flags, "secret-years"))
        : await p
            .choose(
              "Secret key validity period",
              [
                { value: "1", label: "1 year" },
                { value: "2", label: "2 years" },
              ] as const,
              "1",
            )
            .then((v) => (v === "2" ? 2 : 1) as 1 | 2);
    webApp = { action: "create", name: appName, homePageUrl, appIdUri, secretYears };
  } else {
    const from =
      str(flags, "reuse-web-from") ??
      (webCandidates.length === 0
        ? undefined
        : await p.choose(
            "Web app to reuse",
            webCandidates.map((s) => ({ value: s.name, label: `${s.webApp.name} of ${s.name} (${s.type})` })),
            webCandidates[0]?.name,
          ));
    webApp = { action: "reuse", from };
  }

  let nativeApp: NativeAppPlan | undefined;
  if (offer.nativeApp) {
    const nativeCandidates = reuseCandidates(existing, tenantId, true);
    const givenNative = str(flags, "native-app");
    const native =
      givenNative !== undefined
        ? oneOf(givenNative, ["import", "create", "reuse"] as const, "--native-app")
        : await p.choose(
            "Native app (client app)",
            [
              { value: "import" as AppAction, label: "Import a native app already registered in Entra ID" },
              { value: "create" as AppAction, label: "Create a native app in Entra ID (administrator sign-in)" },
              ...(nativeCandidates.length > 0
                ? [
                    {
                      value: "reuse" as AppAction,
                      label: `Reuse a native app of this tenant (${nativeCandidates.map((s) => s.name).join(", ")})`,
                    },
                  ]
                : []),
            ],
            web === "create" ? "create" : "import",
          );
    if (native === "import") {
      const appName = str(flags, "native-app-name") ?? (await p.ask("Application name", WIZARD_DEFAULTS.nativeAppName));
      const clientId = await askGuid(p, "Client ID", str(flags, "native-client-id"));
      p.say(`Its redirect URI must include ms-appx-web://Microsoft.AAD.BrokerPlugin/${clientId}.`);
      nativeApp = { action: "import", name: appName, clientId };
    } else if (native === "create") {
      const appName = str(flags, "native-app-name") ?? (await p.ask("Application name", WIZARD_DEFAULTS.nativeAppName));
      const replyUrl = str(flags, "reply-url") ?? (await p.ask("Reply URL", WIZARD_DEFAULTS.replyUrl));
      nativeApp = { action: "create", name: appName, replyUrl };
    } else {
      const from =
        str(flags, "reuse-native-from") ??
        (nativeCandidates.length === 0
          ? undefined
          : await p.choose(
              "Native app to reuse",
              nativeCandidates.map((s) => ({ value: s.name, label: `${s.nativeApp?.name ?? "?"} of ${s.name}` })),
              nativeCandidates[0]?.name,
            ));
      nativeApp = { action: "reuse", from };
    }
  }

  let secretDestination = secretDestinationFromFlags(flags, cwd, configDir);
  const holdsValue = webApp.action === "create" || (webApp.action === "import" && webApp.secret.kind === "value");
  if (holdsValue && secretDestination === undefined) {
    const where = await p.choose(
      "Store the secret key",
      [
        {
          value: "file",
          label: `in a file of its own next to the configuration (${defaultSecretFile("{clientId}")}, mode 0600)`,
        },
        { value: "inline", label: "inline in the configuration file (not recommended)" },
      ] as const,
      "file",
    );
    secretDestination = where === "inline" ? { kind: "inline" } : undefined;
  }
  const verify =
    flags["no-verify"] === true ? false : await p.confirm("Verify the apps with Entra ID before saving?", true);
  return {
    name,
    description,
    type,
    environment,
    adminServiceManagement,
    tenantId,
    tenantName,
    webApp,
    nativeApp,
    secretDestination,
    verify,
  };
}

/**
 * The plan as a summary page (the wizard's Summary).
 *
 * @param plan the plan
 */
export function summarizePlan(plan: AddPlan): string[] {
  const web =
    plan.webApp.action === "import"
      ? `import ${plan.webApp.name} (${plan.webApp.clientId}), App ID URI ${plan.webApp.appIdUri}`
      : plan.webApp.action === "create"
        ? `create ${plan.webApp.name}, App ID URI ${plan.webApp.appIdUri}, secret valid ${plan.webApp.secretYears} year(s)`
        : `reuse the web app of ${plan.webApp.from ?? "the tenant's other service"}`;
  const native =
    plan.nativeApp === undefined
      ? "none"
      : plan.nativeApp.action === "import"
        ? `import ${plan.nativeApp.name} (${plan.nativeApp.clientId})`
        : plan.nativeApp.action === "create"
          ? `create ${plan.nativeApp.name}, reply URL ${plan.nativeApp.replyUrl}`
          : `reuse the native app of ${plan.nativeApp.from ?? "the tenant's other service"}`;
  return [
    `Name:               ${plan.name}`,
    `Service type:       ${plan.type}`,
    `Azure environment:  ${plan.environment}`,
    `Tenant:             ${plan.tenantName ?? "(from Entra after sign-in)"} (${plan.tenantId})`,
    `Admin Service Mgmt: ${plan.adminServiceManagement ? "on" : "off"}`,
    `Web app:            ${web}`,
    `Native app:         ${native}`,
    `Verify:             ${plan.verify ? "yes" : "no"}`,
  ];
}

/**
 * `services renew-secret NAME` (Azure Services Wizard, "Renew secret key"):
 *
 * - created apps: an administrator signs in, Graph adds a new secret (1 or 2 years), the new secret is
 *   verified, stored and written to every service using that web app, and the old secret is removed from
 *   the app registration so it stops working;
 * - imported apps: the admin renewed the key in the portal and gives the new secret and its expiry here;
 *   it is verified before it is written.
 */
import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import type { Document } from "yaml";
import type { AzureService } from "../config/types.js";
import { editConfigFile, findServiceIndex, setValue } from "../config/write.js";
import { type AddFlags, PlanError, secretDestinationFromFlags } from "./add-plan.js";
import { notifyGateway } from "./add-service.js";
import { signInAdministrator } from "./admin-sign-in.js";
import { type CommandContext, loadNamedService, reportProblems } from "./context.js";
import { createEntraEndpoints, type EntraEndpoints } from "./entra-endpoints.js";
import { describeEntraError, formatEntraFailure } from "./entra-errors.js";
import { createGraphAppsClient, type GraphPasswordCredential } from "./graph-apps.js";
import type { Prompter } from "./prompt.js";
import {
  defaultSecretFile,
  hintOf,
  type SecretDestination,
  type SecretSource,
  storeSecret,
  toConfigPath,
} from "./secret-store.js";
import { verifyWebApp } from "./verify-app.js";

/** Options of {@link renewSecret}. */
export interface RenewOptions {
  readonly flags: AddFlags;
  readonly graphUrl: string | undefined;
  readonly adminClientId: string | undefined;
  /** Asks for the new secret of an imported app when flags do not give it. */
  readonly prompter: Prompter | undefined;
}

function flag(flags: AddFlags, name: string): string | undefined {
  const v = flags[name];
  return typeof v === "string" && v.trim() !== "" ? v.trim() : undefined;
}

/**
 * Renews the web app secret of a service (and of every service sharing that app).
 *
 * @param ctx the command context
 * @param name the service name
 * @param options flags, Graph and sign-in overrides, prompter
 * @returns the exit code
 */
export async function renewSecret(ctx: CommandContext, name: string, options: RenewOptions): Promise<number> {
  const found = loadNamedService(ctx, name);
  if (found === undefined) return 1;
  const { config, service } = found;
  const sharing = config.azureServices.filter(
    (s) => s.tenant.id === service.tenant.id && s.webApp.clientId === service.webApp.clientId,
  );
  const endpoints = createEntraEndpoints(config.environments[service.environment], options.graphUrl);
  try {
    return service.webApp.origin === "created"
      ? await renewCreated(ctx, service, sharing, endpoints, options)
      : await renewImported(ctx, service, sharing, endpoints, options);
  } catch (err) {
    ctx.err(`Cannot renew the secret of ${JSON.stringify(service.name)}: ${describeEntraError(err)}`);
    return 1;
  } finally {
    await endpoints.close();
  }
}

/** Where the renewed secret goes: the flags, else the file it was in, else a file of its own. */
function destinationFor(ctx: CommandContext, service: AzureService, flags: AddFlags): SecretDestination {
  const given = secretDestinationFromFlags(flags, ctx.cwd, ctx.configDir);
  if (given !== undefined) return given;
  const secret = service.webApp.secret;
  if (secret.origin === "fromFile" && secret.reference !== undefined) return { kind: "file", path: secret.reference };
  if (secret.origin === "value") return { kind: "inline" };
  ctx.out(
    `The secret came from environment variable ${secret.reference ?? "?"}; the renewed one is stored in a file (the CLI cannot set the gateway's environment).`,
  );
  return { kind: "file", path: defaultSecretFile(service.webApp.clientId) };
}

async function renewCreated(
  ctx: CommandContext,
  service: AzureService,
  sharing: readonly AzureService[],
  endpoints: EntraEndpoints,
  options: RenewOptions,
): Promise<number> {
  const years = flag(options.flags, "secret-years") ?? "1";
  if (years !== "1" && years !== "2") throw new PlanError(`--secret-years must be 1 or 2, got ${years}`);
  ctx.out(`Sign in as the app's owner or an administrator of tenant ${service.tenant.id} to renew the secret.`);
  const session = await signInAdministrator(endpoints, service.tenant.id, {
    print: (m) => ctx.out(m),
    ...(options.adminClientId === undefined ? {} : { clientId: options.adminClientId }),
  });
  const graph = createGraphAppsClient(endpoints, session.accessToken);
  const app = await graph.findApplication(service.webApp.clientId);
  if (app === undefined) {
    ctx.err(`web app ${service.webApp.clientId} is not an app registration of tenant ${service.tenant.id}`);
    return 1;
  }
  const end = new Date(ctx.now() + Number(years) * 365 * 86_400_000).toISOString();
  const cred = await graph.addPassword(app.id, "ConfigMgr", end);
  ctx.out(`Added a new secret ${hintOf(cred.secretText)} to ${app.displayName}, valid until ${cred.endDateTime}.`);

  const check = await verifyWebApp(endpoints, {
    tenantId: service.tenant.id,
    clientId: service.webApp.clientId,
    secret: cred.secretText,
    appIdUri: service.webApp.appIdUri,
  });
  const stored = await storeSecret(ctx.configDir, destinationFor(ctx, service, options.flags), cred.secretText);
  if (stored.warning !== undefined) ctx.err(`warning: ${stored.warning}`);
  const written = await writeRenewal(ctx, sharing, stored.source, cred.endDateTime);
  if (written !== 0) return written;

  if (!check.ok) {
    ctx.err(
      `The new secret did not verify yet (${formatEntraFailure(check.failure)}); the old secret is kept in Entra ID. Run renew-secret again later, or remove the old secret in the portal.`,
    );
    return 1;
  }
  ctx.out("Verified the new secret: client credentials tokens for Microsoft Graph and the App ID URI.");
  if (options.flags["keep-old-secret"] === true) {
    ctx.out("The old secret is kept in Entra ID (--keep-old-secret); it works until it expires.");
    return 0;
  }
  const old = pickOldCredentials(app.passwordCredentials ?? [], service, cred.keyId);
  if (old.length === 0) {
    ctx.err(
      "warning: could not tell which secret of the app registration is the old one; remove it in the Entra admin center.",
    );
    return 0;
  }
  for (const c of old) {
    await graph.removePassword(app.id, c.keyId);
    ctx.out(`Removed the old secret ${c.hint ?? ""}… (key ${c.keyId}) from the app registration: it no longer works.`);
  }
  return 0;
}

/**
 * The app's credentials that hold the secret being replaced: Entra's `hint` is the secret's first three
 * characters; when several share it, the expiry date in the configuration decides.
 */
function pickOldCredentials(
  credentials: readonly GraphPasswordCredential[],
  service: AzureService,
  newKeyId: string,
): GraphPasswordCredential[] {
  const oldHint = service.webApp.secret.reveal().slice(0, 3);
  const byHint = credentials.filter((c) => c.keyId !== newKeyId && c.hint === oldHint);
  if (byHint.length <= 1) return byHint;
  const expiry = service.webApp.secretExpiresAtMs;
  const byExpiry = byHint.filter((c) => c.endDateTime !== undefined && Date.parse(c.endDateTime) === expiry);
  return byExpiry.length === 1 ? byExpiry : [];
}

async function renewImported(
  ctx: CommandContext,
  service: AzureService,
  sharing: readonly AzureService[],
  endpoints: EntraEndpoints,
  options: RenewOptions,
): Promise<number> {
  const flags = options.flags;
  const given = (["secret-file", "secret-env", "secret-value"] as const).filter((k) => flag(flags, k) !== undefined);
  if (given.length > 1) throw new PlanError("give one of --secret-file, --secret-env, --secret-value");
  let source: SecretSource | undefined;
  let value: string | undefined;
  const p = options.prompter;
  if (given.length === 0 && p === undefined) {
    ctx.err(
      `${service.name}'s web app was imported: renew its key in the Entra admin center, then give the new secret (--secret-file, --secret-env or --secret-value) and --secret-expiry, or run with --interactive.`,
    );
    return 2;
  }
  const file = flag(flags, "secret-file");
  const env = flag(flags, "secret-env");
  let typed = flag(flags, "secret-value");
  if (given.length === 0 && p !== undefined) {
    p.say(`Renew the key of ${service.webApp.name} (${service.webApp.clientId}) in the Entra admin center first.`);
    typed = await p.askSecret("New secret key");
  }
  if (file !== undefined) {
    source = { fromFile: toConfigPath(file, ctx.cwd, ctx.configDir) };
    value = (await readFile(resolve(ctx.configDir, source.fromFile), "utf8")).replace(/\r?\n$/, "");
  } else if (env !== undefined) {
    source = { fromEnv: env };
    value = ctx.io.env[env];
    if (value === undefined || value === "") throw new PlanError(`environment variable ${env} is not set`);
  } else value = typed;
  if (value === undefined) return 2;
  let expiry = flag(flags, "secret-expiry");
  if (expiry === undefined && p !== undefined) {
    expiry = await p.ask("New secret key expiry (YYYY-MM-DD)");
  }
  if (expiry === undefined || Number.isNaN(Date.parse(expiry))) {
    ctx.err("give the new secret's expiry date with --secret-expiry YYYY-MM-DD");
    return 2;
  }
  if (flags["no-verify"] !== true) {
    const check = await verifyWebApp(endpoints, {
      tenantId: service.tenant.id,
      clientId: service.webApp.clientId,
      secret: value,
      appIdUri: service.webApp.appIdUri,
    });
    if (!check.ok) {
      ctx.err(`Verification failed (${check.step}): ${formatEntraFailure(check.failure)}`);
      ctx.err("Nothing was written.");
      return 1;
    }
    ctx.out("Verified the new secret.");
  }
  if (source === undefined) {
    const stored = await storeSecret(ctx.configDir, destinationFor(ctx, service, flags), value);
    if (stored.warning !== undefined) ctx.err(`warning: ${stored.warning}`);
    source = stored.source;
  }
  return writeRenewal(ctx, sharing, source, expiry);
}

/** Writes the new secret source and expiry to every service using the web app. */
async function writeRenewal(
  ctx: CommandContext,
  sharing: readonly AzureService[],
  source: SecretSource,
  expiry: string,
): Promise<number> {
  const result = await editConfigFile(
    ctx.configPath,
    (doc: Document) => {
      for (const s of sharing) {
        const index = findServiceIndex(doc, s.name);
        setValue(doc, ["azureServices", index, "webApp", "secret"], source);
        setValue(doc, ["azureServices", index, "webApp", "secretExpiry"], expiry);
      }
    },
    ctx.validateOptions,
  );
  if (!result.ok) {
    reportProblems(ctx, result.problems);
    ctx.err(`${ctx.configPath} was not changed.`);
    return 1;
  }
  ctx.out(
    `Updated ${sharing.map((s) => JSON.stringify(s.name)).join(", ")} in ${ctx.configPath}: secret ${"fromFile" in source ? `file ${source.fromFile}` : "fromEnv" in source ? `environment variable ${source.fromEnv}` : "inline"}, expires ${expiry}.`,
  );
  return notifyGateway(ctx, "renew-secret");
}

/**
 * The administrator's sign-in for app registration changes (the wizard's **Sign in** button): msal-node's
 * device code flow with a first-party public client, asking for Microsoft Graph. The credentials and tokens
 * live only in memory for one command; nothing is stored (Azure Services Wizard: "These credentials aren't
 * saved by Configuration Manager").
 */
import { PublicClientApplication } from "@azure/msal-node";
import type { EntraEndpoints } from "./entra-endpoints.js";
import { describeEntraError } from "./entra-errors.js";

/**
 * Microsoft Azure PowerShell's application ID: a first-party public client every tenant knows, which holds
 * the delegated Graph permission `Application.ReadWrite.All` for directory administrators.
 */
export const ADMIN_TOOL_CLIENT_ID = "1950a258-227b-4e31-a9cf-717495945fc2";

/** A signed-in administrator's Graph token. */
export interface AdminSession {
  readonly accessToken: string;
  /** The administrator's user name, for messages. */
  readonly username: string | undefined;
}

/** Options of {@link signInAdministrator}. */
export interface SignInOptions {
  /** Prints the device code message ("To sign in, use a web browser to open … and enter the code …"). */
  readonly print: (message: string) => void;
  /** Public client to sign in with; default {@link ADMIN_TOOL_CLIENT_ID}. */
  readonly clientId?: string;
  /** Give up after this many seconds; default the device code's own lifetime. */
  readonly timeoutSec?: number;
}

/**
 * Signs an administrator in to a tenant with the device code flow and returns a Graph token.
 *
 * @param endpoints the tenant's environment
 * @param tenantId the tenant GUID
 * @param options where to print the code, which client to use
 * @throws Error with Entra's AADSTS code and message when the sign-in fails or is declined
 */
export async function signInAdministrator(
  endpoints: EntraEndpoints,
  tenantId: string,
  options: SignInOptions,
): Promise<AdminSession> {
  const pca = new PublicClientApplication({
    auth: {
      clientId: options.clientId ?? ADMIN_TOOL_CLIENT_ID,
      authority: endpoints.authority(tenantId),
      knownAuthorities: [...endpoints.knownAuthorities],
    },
    system: { networkClient: endpoints.networkClient },
  });
  try {
    const result = await pca.acquireTokenByDeviceCode({
      scopes: [`${endpoints.graphResource}/.default`],
      deviceCodeCallback: (response) => options.print(response.message),
      ...(options.timeoutSec === undefined ? {} : { timeout: options.timeoutSec }),
    });
    if (result === null) throw new Error("the sign-in was cancelled");
    return { accessToken: result.accessToken, username: result.account?.username };
  } catch (err) {
    throw new Error(`administrator sign-in failed: ${describeEntraError(err)}`);
  }
}

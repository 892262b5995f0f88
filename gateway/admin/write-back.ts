/**
 * The admin API's write-back of a tenant flag: through `config/write.ts` (the one place that edits the
 * configuration file: the whole result validated, then written atomically with temp file + rename).
 */

import type { ValidateOptions } from "../config/validate.js";
import { ConfigEditError, editConfigFile, setTenantAuthentication } from "../config/write.js";

/** Outcome of {@link setTenantDisabledInFile}. */
export type WriteBackResult =
  | { readonly ok: true; readonly changed: boolean; readonly service: string }
  | { readonly ok: false; readonly unknownTenant: boolean; readonly problems: readonly string[] };

/**
 * Sets `disableAuthentication` of the tenant's cloud management service in the configuration file.
 *
 * @param path the configuration file
 * @param tenantId lower-case tenant GUID
 * @param disabled the new flag
 * @param options validation inputs
 */
export async function setTenantDisabledInFile(
  path: string,
  tenantId: string,
  disabled: boolean,
  options: ValidateOptions = {},
): Promise<WriteBackResult> {
  let service = tenantId;
  let unknownTenant = false;
  const result = await editConfigFile(
    path,
    (doc) => {
      try {
        service = setTenantAuthentication(doc, tenantId, disabled);
      } catch (err) {
        if (err instanceof ConfigEditError) unknownTenant = true;
        throw err;
      }
    },
    options,
  );
  if (!result.ok) return { ok: false, unknownTenant, problems: result.problems };
  return { ok: true, changed: result.written, service };
}

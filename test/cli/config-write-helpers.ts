/** A configuration folder for `gateway/config/write.ts` tests (no emulator needed). */
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const TENANT = "5e97358c-d99c-4558-af0c-de7774091dda";

export const CONFIG_YAML = `# gateway configuration (hand-written)
azureServices:
  - name: Contoso # the main tenant
    type: cloudManagement
    tenant: { id: ${TENANT}, name: contoso.onmicrosoft.com }
    webApp:
      name: ConfigMgrService
      clientId: 1f1e2d3c-4b5a-4697-8877-665544332211
      appIdUri: api://${TENANT}/ConfigMgrService
      secret: { fromFile: server.secret } # kept out of this file
    nativeApp: { name: ConfigMgrClient, clientId: a26a653e-17aa-43eb-ab36-0e36c7d29f49 }
    disableAuthentication: false # CM 2010+
upstream:
  url: https://mp.contoso.local # the MP
`;

/** Writes the configuration (and its secret file) to a fresh folder. */
export async function configFolder(text = CONFIG_YAML, name = "gateway.yaml", mode = 0o640): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "config-write-"));
  await writeFile(join(dir, "server.secret"), "s3cr3t\n");
  const path = join(dir, name);
  await writeFile(path, text, { mode });
  return path;
}

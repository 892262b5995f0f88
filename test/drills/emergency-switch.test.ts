/**
 * Drill: the per-tenant emergency switch while the configuration file cannot help — mounted read-only (the
 * gateway runs as another user than the file's owner, as in the container image) and then holding an
 * invalid edit. `POST /tenants/{id}/disable` answers 200, every worker refuses the tenant's next request,
 * the file is never touched, and the state survives a restart. The public `/readyz` names no tenant.
 */
import { spawnSync } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { request } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { adminClient, eventually, postOnNewConnection } from "../operations/helpers.js";
import { type StackGateway, serveStackGateway } from "../operations/stack-gateway.js";

const NOBODY = 65_534;
const asRoot = process.getuid?.() === 0;

let s: StackGateway;
let token: string;
let tenantId: string;
let original: string;

beforeAll(async () => {
  s = await serveStackGateway({
    workers: 2,
    edit: (doc) => {
      // Nothing of the gateway's may need a write next to the stack's files.
      delete doc.auth.jwks.diskCacheDir;
    },
    // Root ignores file modes: run the gateway as `nobody`, who can read the configuration but not write it.
    serve: asRoot ? { uid: NOBODY, gid: NOBODY } : {},
  });
  const contoso = s.h.tenant("contoso");
  tenantId = contoso.id;
  token = await s.h.userToken(contoso, 1);
  original = await readFile(s.configFile, "utf8");
}, 120_000);
afterAll(() => s?.close());

const admin = async () =>
  adminClient(s.gw.adminUrl, (await readFile(join(s.stateDir, "admin.key"), "utf8")).trim(), s.h.dispatcher);

const fresh = () => postOnNewConnection(s.gw.url, s.h.stack.tls.ca.cert, token);

const refusingPids = () =>
  new Set(
    s.gw.lines
      .filter((l) => l.msg === "request" && l.reason === "tenant_disabled" && l.status === 403)
      .map((l) => l.pid),
  );

describe("the emergency switch", () => {
  it("when the configuration file is read-only to the gateway, then disable answers 200 and every worker refuses the tenant", async () => {
    if (asRoot) {
      // The precondition is real: the gateway's user cannot write next to the configuration file.
      const probe = spawnSync(
        process.execPath,
        ["-e", `require("node:fs").writeFileSync(${JSON.stringify(`${s.configFile}.probe`)}, "x")`],
        { uid: NOBODY, gid: NOBODY },
      );
      expect(probe.status).not.toBe(0);
      expect(String(probe.stderr)).toContain("EACCES");
    }
    expect(await fresh()).toBe(200);
    const call = await admin();
    const disabled = await call("POST", `/tenants/${tenantId}/disable`);
    expect(disabled.status, disabled.text).toBe(200);
    expect(disabled.body.workers).toHaveLength(2);
    await eventually(async () => (await fresh()) === 403 && refusingPids().size === 2, "403 from both workers");
    expect(await readFile(s.configFile, "utf8")).toBe(original);
  });

  it("when the file holds an invalid edit, then enable and disable still answer 200 and take effect on every worker", async () => {
    await writeFile(s.configFile, `${original}\nnotAKey: true\n`);
    const call = await admin();
    // The watcher has seen the edit and refused it; the last good configuration serves.
    await eventually(
      async () => s.gw.lines.some((l) => String(l.msg).startsWith("configuration reload refused")),
      "the broken edit refused",
    );
    const enabled = await call("POST", `/tenants/${tenantId}/enable`);
    expect(enabled.status, enabled.text).toBe(200);
    await eventually(async () => (await fresh()) === 200, "accepted again");
    const disabled = await call("POST", `/tenants/${tenantId}/disable`);
    expect(disabled.status, disabled.text).toBe(200);
    const before = refusingPids().size;
    expect(before).toBe(2);
    expect(await fresh()).toBe(403);
    const view = await call("GET", "/tenants");
    const entry = view.body.tenants.find((t: { tenantId: string }) => t.tenantId === tenantId);
    expect(entry).toMatchObject({ enabled: false, origin: { source: "admin", fileSays: { enabled: true } } });
  });

  it("when the public /readyz is asked, then it answers only ready or not, and the admin listener has the details", async () => {
    const pub = await request(`${s.gw.url}/readyz`, { dispatcher: s.h.dispatcher });
    const text = await pub.body.text();
    expect(pub.statusCode).toBe(200);
    expect(JSON.parse(text)).toEqual({ status: "ready" });
    for (const t of s.h.stack.description.tenants) expect(text).not.toContain(t.id);
    const detail = await (await admin())("GET", "/readyz");
    expect(detail.status).toBe(200);
    expect(detail.body.workers).toHaveLength(2);
    const enabled = s.h.stack.description.tenants.find((t) => !t.disabled && t.id !== tenantId)!;
    expect(JSON.stringify(detail.body.workers[0].checks.keys)).toContain(enabled.id);
  });

  it("when the gateway restarts, then the tenant is still disabled", async () => {
    await writeFile(s.configFile, original);
    expect(await s.gw.stop()).toBe(0);
    await s.serve();
    expect(await fresh()).toBe(403);
    const view = await (await admin())("GET", "/tenants");
    const entry = view.body.tenants.find((t: { tenantId: string }) => t.tenantId === tenantId);
    expect(entry.origin.source).toBe("admin");
    expect(await readFile(s.configFile, "utf8")).toBe(original);
  });

  it("when the tenant's runtime state is cleared, then it follows the file again", async () => {
    const cleared = await (await admin())("DELETE", `/tenants/${tenantId}/state`);
    expect(cleared.status, cleared.text).toBe(200);
    expect(cleared.body).toMatchObject({ enabled: true, origin: { source: "file" } });
    await eventually(async () => (await fresh()) === 200, "accepted again");
  });
});

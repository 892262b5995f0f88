/**
 * The example overlay's configuration is one the gateway accepts, exactly as a pod would see it: the rendered
 * ConfigMap and Secrets are projected into a folder the way the Deployment's volume lays them out
 * (/etc/entra-gateway), and the gateway's own `check-config` runs on it in-process.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "../../gateway/main.js";
import { containerOf, find, projectVolume, renderExample } from "./fixtures.js";
import type { Rendered } from "./kustomize.js";

let root: string;
let example: Rendered;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "entra-deploy-config-"));
  example = renderExample();
});
afterAll(() => rm(root, { recursive: true, force: true }));

/** A stream that keeps what is written to it. */
function collector(): Writable & { text: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      chunks.push(String(chunk));
      done();
    },
  });
  return Object.assign(stream, { text: () => chunks.join("") });
}

/** `entra-gateway check-config FILE`, in-process. */
async function checkConfig(file: string): Promise<{ code: number; out: string; err: string }> {
  const stdout = collector();
  const stderr = collector();
  const code = await main(["check-config", file], { stdin: process.stdin, stdout, stderr, env: {} });
  return { code, out: stdout.text(), err: stderr.text() };
}

/** Lays out the gateway container's /etc/entra-gateway in a fresh folder; returns the --config path. */
async function podConfigFolder(name: string, rendered: Rendered): Promise<string> {
  const deployment = find(rendered.objects, "Deployment", "entra-gateway");
  const args = containerOf(deployment, "gateway").args ?? [];
  const configFile = args[args.indexOf("--config") + 1] ?? "";
  const mount = containerOf(deployment, "gateway").volumeMounts?.find((m) => configFile.startsWith(`${m.mountPath}/`));
  if (mount === undefined) throw new Error(`--config ${configFile} is on no volume`);
  const dir = join(root, name);
  await projectVolume(rendered, deployment, mount.name, dir);
  return join(dir, configFile.slice(mount.mountPath.length + 1));
}

describe("deploy/kubernetes/overlays/example gateway.yaml", () => {
  it("when projected into the pod with the overlay's Secrets, then check-config accepts it", async () => {
    const { code, out, err } = await checkConfig(await podConfigFolder("pod", example));
    expect(err).toBe("");
    expect(code).toBe(0);
    expect(out).toMatch(/valid — 2 service\(s\), 2 cloud management tenant\(s\) \(0 disabled\)/);
  });

  it("when a secret file the configuration names is missing from the Secret, then check-config refuses it", async () => {
    const withoutAdminKey = structuredClone(example);
    const secret = find(withoutAdminKey.objects, "Secret", "entra-gateway-secrets");
    delete (secret.data as Record<string, string>)["admin-key"];
    const { code, err } = await checkConfig(await podConfigFolder("pod-without-admin-key", withoutAdminKey));
    expect(code).toBe(1);
    expect(err).toMatch(/admin\.key.*admin-key/);
  });

  it("when the ConfigMap's gateway.yaml has an unknown key, then check-config refuses it", async () => {
    const misspelt = structuredClone(example);
    const config = find(misspelt.objects, "ConfigMap", "entra-gateway-config").data as Record<string, string>;
    config["gateway.yaml"] = (config["gateway.yaml"] ?? "").replace("diskCacheDir:", "diskCachDir:");
    const { code, err } = await checkConfig(await podConfigFolder("pod-misspelt", misspelt));
    expect(code).toBe(1);
    expect(err).toMatch(/diskCachDir/);
  });
});

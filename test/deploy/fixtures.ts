/**
 * Shared fixtures of the deploy/ tests: where the manifests are, the example overlay rendered with secret
 * files that the test makes (the real ones are never committed: the overlay's .gitignore lists them), and
 * the folder a gateway pod sees at /etc/entra-gateway, built from the Deployment's projected volume.
 */
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import { type K8sObject, type Rendered, renderKustomization } from "./kustomize.js";

/** The repository's deploy/ folder. */
export const DEPLOY_DIR = resolve(import.meta.dirname, "../../deploy");
/** deploy/kubernetes. */
export const KUBERNETES_DIR = join(DEPLOY_DIR, "kubernetes");
/** The example overlay. */
export const EXAMPLE_OVERLAY = join(KUBERNETES_DIR, "overlays/example");

/** The file names the example overlay's .gitignore keeps out of the repository (its secret files). */
export function ignoredSecretFiles(): string[] {
  return readFileSync(join(EXAMPLE_OVERLAY, ".gitignore"), "utf8")
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "" && !l.startsWith("#"));
}

/** Placeholder content for a secret file, shaped like what the gateway will read there. */
function placeholderSecret(name: string): Buffer {
  if (name.endsWith(".crt")) {
    return Buffer.from(
      `-----BEGIN CERTIFICATE-----\n${randomBytes(48).toString("base64")}\n-----END CERTIFICATE-----\n`,
    );
  }
  if (name.endsWith(".key")) {
    return Buffer.from(
      `-----BEGIN PRIVATE KEY-----\n${randomBytes(48).toString("base64")}\n-----END PRIVATE KEY-----\n`,
    );
  }
  return Buffer.from(randomBytes(32).toString("base64url"));
}

/**
 * Renders the example overlay; its secret files (those its .gitignore names) come from the test, everything
 * else from the repository.
 */
export function renderExample(): Rendered {
  const secrets = new Set(ignoredSecretFiles());
  const made = new Map<string, Buffer>();
  return renderKustomization(EXAMPLE_OVERLAY, {
    readGeneratorFile: (path) => {
      if (dirname(path) === EXAMPLE_OVERLAY && secrets.has(basename(path))) {
        const existing = made.get(path) ?? placeholderSecret(basename(path));
        made.set(path, existing);
        return existing;
      }
      if (!existsSync(path)) throw new Error(`${path} is neither in the repository nor a secret file of .gitignore`);
      return readFileSync(path);
    },
  });
}

/** The one object of a kind and name; throws when absent. */
export function find(objects: readonly K8sObject[], kind: string, name: string): K8sObject {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (found === undefined) throw new Error(`${kind}/${name} not rendered`);
  return found;
}

/** An HTTP probe, as far as the tests look at it. */
export interface HttpProbe {
  readonly httpGet?: Record<string, unknown>;
  readonly [field: string]: unknown;
}

/** A container of a pod template, as far as the tests look at it. */
export interface PodContainer {
  name: string;
  args?: string[];
  env?: { name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } }[];
  ports?: { name: string; containerPort: number }[];
  volumeMounts?: { name: string; mountPath: string; readOnly?: boolean }[];
  securityContext?: Record<string, unknown>;
  resources?: Record<string, unknown>;
  readinessProbe?: HttpProbe;
  livenessProbe?: HttpProbe;
  startupProbe?: HttpProbe;
  lifecycle?: { preStop?: { exec?: { command: string[] } } };
  [field: string]: unknown;
}

/** A pod template's spec, as far as the tests look at it. */
export interface PodSpec {
  containers: PodContainer[];
  volumes?: ({ name: string } & Record<string, unknown>)[];
  securityContext?: Record<string, unknown>;
  [field: string]: unknown;
}

/** The pod spec of a workload (Deployment, StatefulSet). */
export function podSpecOf(workload: K8sObject): PodSpec {
  const spec = workload.spec as { template: { spec: PodSpec } };
  return spec.template.spec;
}

/** A workload's container by name; throws when absent. */
export function containerOf(workload: K8sObject, name: string): PodContainer {
  const c = podSpecOf(workload).containers.find((x) => x.name === name);
  if (c === undefined) throw new Error(`${workload.kind}/${workload.metadata.name} has no container ${name}`);
  return c;
}

/** The data of a rendered ConfigMap or Secret, decoded. */
function dataOf(obj: K8sObject): Record<string, Buffer> {
  const out: Record<string, Buffer> = {};
  for (const [k, v] of Object.entries((obj.data ?? {}) as Record<string, string>)) {
    out[k] = obj.kind === "Secret" ? Buffer.from(v, "base64") : Buffer.from(v, "utf8");
  }
  return out;
}

/**
 * Writes into `dir` what the kubelet would project into the container for the named volume of the
 * Deployment: every source's keys (or its `items`, at their `path`).
 */
export async function projectVolume(
  rendered: Rendered,
  deployment: K8sObject,
  volumeName: string,
  dir: string,
): Promise<void> {
  const volume = podSpecOf(deployment).volumes?.find((v) => v.name === volumeName);
  if (volume === undefined) throw new Error(`volume ${volumeName} not found`);
  const projected = volume.projected as { sources: Record<string, unknown>[] } | undefined;
  if (projected === undefined) throw new Error(`volume ${volumeName} is not a projected volume`);
  for (const source of projected.sources) {
    const [kind, ref] = Object.entries(source)[0] as [
      string,
      { name: string; items?: { key: string; path: string }[] },
    ];
    const obj = find(rendered.objects, kind === "configMap" ? "ConfigMap" : "Secret", ref.name);
    const data = dataOf(obj);
    const items = ref.items ?? Object.keys(data).map((key) => ({ key, path: key }));
    for (const item of items) {
      const content = data[item.key];
      if (content === undefined) throw new Error(`${obj.kind}/${ref.name} has no key ${item.key}`);
      const target = join(dir, item.path);
      await mkdir(dirname(target), { recursive: true });
      await writeFile(target, content);
    }
  }
}

/**
 * deploy/kubernetes validates offline: every object the base and the example overlay render passes the
 * Kubernetes schemas (kubernetes-models, no cluster), no field is unknown, and the objects agree with each
 * other and with the gateway (ports, probes, drain deadline, mounted configuration and secrets).
 */
import { execFileSync } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { parse, parseAllDocuments } from "yaml";
import { ConfigSchema } from "../../gateway/config/schema.js";
import {
  containerOf,
  DEPLOY_DIR,
  EXAMPLE_OVERLAY,
  find,
  ignoredSecretFiles,
  KUBERNETES_DIR,
  type PodContainer,
  podSpecOf,
  renderExample,
} from "./fixtures.js";
import { describeObject, findUnknownFields, validateAgainstSchema } from "./kubernetes-schema.js";
import { type K8sObject, listFiles, type Rendered, renderKustomization } from "./kustomize.js";

let base: Rendered;
let example: Rendered;
beforeAll(() => {
  base = renderKustomization(join(KUBERNETES_DIR, "base"));
  example = renderExample();
});

function gatewayContainer(objects: readonly K8sObject[]): PodContainer {
  return containerOf(find(objects, "Deployment", "entra-gateway"), "gateway");
}

function argAfter(args: readonly string[], flag: string): string | undefined {
  const at = args.indexOf(flag);
  return at === -1 ? undefined : args[at + 1];
}

function exampleGatewayYaml(): Record<string, Record<string, unknown>> {
  return parse(readFileSync(join(EXAMPLE_OVERLAY, "gateway.yaml"), "utf8")) as Record<string, Record<string, unknown>>;
}

/** kubectl on PATH, when this machine has one (its built-in kustomize renders offline, no cluster needed). */
const kubectl = (process.env.PATH ?? "")
  .split(delimiter)
  .map((dir) => join(dir, "kubectl"))
  .find((path) => {
    try {
      execFileSync(path, ["version", "--client"], { stdio: "ignore" });
      return true;
    } catch {
      return false;
    }
  });

/** Sorts object keys (recursively) and drops kustomize's hash suffixes, so two renderings compare as JSON. */
function normalise(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(normalise);
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((k) => [k, normalise((value as Record<string, unknown>)[k])]),
    );
  }
  return typeof value === "string" ? value.replace(/^(entra-gateway-[a-z-]+)-[a-z0-9]{10}$/, "$1") : value;
}

describe("deploy/kubernetes", () => {
  it("when rendered, every object of the base and of the example overlay passes the Kubernetes schemas", async () => {
    for (const obj of [...base.objects, ...example.objects]) {
      expect(await validateAgainstSchema(obj), describeObject(obj)).toEqual([]);
    }
    expect(example.objects.map(describeObject).sort()).toEqual(
      [
        "ConfigMap/entra-gateway-config",
        "Deployment/entra-gateway",
        "HorizontalPodAutoscaler/entra-gateway",
        "Namespace/entra-gateway",
        "NetworkPolicy/entra-gateway",
        "NetworkPolicy/entra-gateway-redis",
        "PodDisruptionBudget/entra-gateway",
        "Secret/entra-gateway-secrets",
        "Secret/entra-gateway-tls",
        "Service/entra-gateway",
        "Service/entra-gateway-redis",
        "ServiceAccount/entra-gateway",
        "StatefulSet/entra-gateway-redis",
      ].sort(),
    );
  });

  it("when rendered, no object has a field its kind does not define", () => {
    expect(Object.fromEntries(findUnknownFields([...base.objects, ...example.objects]))).toEqual({});
  });

  it("when a manifest has a misspelt field, a wrong type or an unknown kind, then validation fails", async () => {
    const deployment = structuredClone(find(example.objects, "Deployment", "entra-gateway"));
    const httpGet = containerOf(deployment, "gateway").readinessProbe?.httpGet ?? {};
    httpGet.paht = httpGet.path;
    delete httpGet.path;
    const unknown = findUnknownFields([deployment]);
    expect(unknown.get("Deployment/entra-gateway")?.join("\n")).toMatch(/'"?paht"?' does not exist/);

    const wrongType = structuredClone(find(example.objects, "Deployment", "entra-gateway"));
    podSpecOf(wrongType).terminationGracePeriodSeconds = "forty-five";
    expect((await validateAgainstSchema(wrongType)).join("\n")).toMatch(/terminationGracePeriodSeconds/);

    const missing = structuredClone(find(example.objects, "Service", "entra-gateway"));
    (missing.spec as { ports: Record<string, unknown>[] }).ports[0] = { name: "https", targetPort: "https" };
    expect((await validateAgainstSchema(missing)).join("\n")).toMatch(/port/);

    const typo = { ...find(example.objects, "PodDisruptionBudget", "entra-gateway"), apiVersion: "policy/v1beta7" };
    expect(await validateAgainstSchema(typo)).toEqual([
      "PodDisruptionBudget/entra-gateway: no Kubernetes schema for apiVersion policy/v1beta7",
    ]);
  });

  it.skipIf(kubectl === undefined)(
    "when kubectl is installed, its kustomize renders the example overlay to the same objects, and they pass the schemas",
    async () => {
      const copy = mkdtempSync(join(tmpdir(), "entra-deploy-kustomize-"));
      try {
        cpSync(KUBERNETES_DIR, copy, { recursive: true });
        const overlay = join(copy, "overlays/example");
        for (const name of ignoredSecretFiles()) writeFileSync(join(overlay, name), `test secret ${name}\n`);
        const text = execFileSync(kubectl ?? "kubectl", ["kustomize", overlay], { encoding: "utf8" });
        const real = parseAllDocuments(text).map((d) => d.toJS() as K8sObject);
        const ours = renderKustomization(overlay).objects;
        const byName = (objects: K8sObject[]) =>
          Object.fromEntries(objects.map((o) => [`${o.kind}/${String(normalise(o.metadata.name))}`, normalise(o)]));
        expect(byName(ours)).toEqual(byName(real));
        for (const obj of real) expect(await validateAgainstSchema(obj), describeObject(obj)).toEqual([]);
        expect(Object.fromEntries(findUnknownFields(real))).toEqual({});
      } finally {
        rmSync(copy, { recursive: true, force: true });
      }
    },
  );

  it("every file under deploy/kubernetes is used by a kustomization (none lies around unchecked)", () => {
    const used = new Set([...base.files, ...example.files]);
    const unused = listFiles(KUBERNETES_DIR)
      .filter((f) => !f.endsWith(".gitignore"))
      .filter((f) => !used.has(join(KUBERNETES_DIR, f)));
    expect(unused).toEqual([]);
  });

  it("the gateway pod runs unprivileged on a read-only root filesystem, and everything it writes is on a volume", () => {
    const deployment = find(example.objects, "Deployment", "entra-gateway");
    const pod = podSpecOf(deployment);
    const c = gatewayContainer(example.objects);
    expect(pod.securityContext?.runAsNonRoot).toBe(true);
    expect(pod.securityContext?.runAsUser).not.toBe(0);
    expect(pod.automountServiceAccountToken).toBe(false);
    expect(c.securityContext).toMatchObject({
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ["ALL"] },
    });
    expect(c.resources).toMatchObject({
      requests: { cpu: expect.any(String), memory: expect.any(String) },
      limits: { cpu: expect.any(String), memory: expect.any(String) },
    });

    // The state directory and the JWKS disk copy are on a writable (emptyDir) volume, the config on a read-only one.
    const mounts = c.volumeMounts ?? [];
    const volumes = podSpecOf(deployment).volumes ?? [];
    const writable = mounts.filter((m) => m.readOnly !== true && volumes.some((v) => v.name === m.name && v.emptyDir));
    const stateDir = argAfter(c.args ?? [], "--state-dir");
    const diskCacheDir = (exampleGatewayYaml().auth?.jwks as Record<string, string> | undefined)?.diskCacheDir;
    for (const path of [stateDir, diskCacheDir]) {
      expect(
        writable.some((m) => path === m.mountPath || path?.startsWith(`${m.mountPath}/`)),
        `${path} on a writable volume`,
      ).toBe(true);
    }
    const configFile = argAfter(c.args ?? [], "--config");
    const configMount = mounts.find((m) => configFile === `${m.mountPath}/gateway.yaml`);
    expect(configMount?.readOnly).toBe(true);
  });

  it("readiness asks /readyz and liveness /healthz on the main listener's port", () => {
    const c = gatewayContainer(example.objects);
    const https = c.ports?.find((p) => p.name === "https");
    expect(https?.containerPort).toBe(exampleGatewayYaml().listen?.port);
    expect(c.readinessProbe?.httpGet).toMatchObject({ path: "/readyz", port: "https", scheme: "HTTPS" });
    expect(c.livenessProbe?.httpGet).toMatchObject({ path: "/healthz", port: "https", scheme: "HTTPS" });
    expect(c.startupProbe?.httpGet).toMatchObject({ path: "/healthz", port: "https" });
  });

  it("the termination grace period covers the preStop pause plus the gateway's drain deadline", () => {
    const pod = podSpecOf(find(example.objects, "Deployment", "entra-gateway"));
    const [cmd, seconds] = gatewayContainer(example.objects).lifecycle?.preStop?.exec?.command ?? [];
    expect(cmd).toBe("sleep");
    // The example's own drain deadline, else the gateway's default for it.
    const configured = exampleGatewayYaml().listen?.drainTimeoutMs;
    const drainMs =
      typeof configured === "number"
        ? configured
        : ConfigSchema.parse({ upstream: { url: "https://mp.example" } }).listen.drainTimeoutMs;
    expect(pod.terminationGracePeriodSeconds).toBeGreaterThanOrEqual(Number(seconds) + drainMs / 1000 + 5);
  });

  it("the Service, PodDisruptionBudget and HorizontalPodAutoscaler all point at the gateway Deployment", () => {
    const deployment = find(example.objects, "Deployment", "entra-gateway");
    const podLabels = (deployment.spec as { template: { metadata: { labels: Record<string, string> } } }).template
      .metadata.labels;
    const service = find(example.objects, "Service", "entra-gateway").spec as {
      selector: Record<string, string>;
      ports: { targetPort: string }[];
      type: string;
    };
    expect(podLabels).toMatchObject(service.selector);
    const portNames = (gatewayContainer(example.objects).ports ?? []).map((p) => p.name);
    for (const p of service.ports) expect(portNames).toContain(p.targetPort);
    // Metrics stay off the clients' Service.
    expect(service.ports.map((p) => p.targetPort)).not.toContain("metrics");
    expect(service.type).toBe("LoadBalancer"); // the overlay's patch applied

    const pdb = find(example.objects, "PodDisruptionBudget", "entra-gateway").spec as {
      selector: { matchLabels: Record<string, string> };
      maxUnavailable: number;
    };
    expect(podLabels).toMatchObject(pdb.selector.matchLabels);
    const hpa = find(example.objects, "HorizontalPodAutoscaler", "entra-gateway").spec as {
      scaleTargetRef: { kind: string; name: string };
      minReplicas: number;
      metrics: { resource: { name: string } }[];
    };
    expect(hpa.scaleTargetRef).toMatchObject({ kind: "Deployment", name: "entra-gateway" });
    expect(hpa.metrics.map((m) => m.resource.name)).toEqual(["cpu"]);
    // The PDB leaves pods serving at the HPA's floor, and the Deployment leaves the count to the HPA.
    expect(hpa.minReplicas - pdb.maxUnavailable).toBeGreaterThanOrEqual(2);
    expect(deployment.spec).not.toHaveProperty("replicas");
  });

  it("the gateway's NetworkPolicy lets anyone reach the client port and only the monitoring namespace the metrics port", () => {
    const deployment = find(example.objects, "Deployment", "entra-gateway");
    const podLabels = (deployment.spec as { template: { metadata: { labels: Record<string, string> } } }).template
      .metadata.labels;
    const policy = find(example.objects, "NetworkPolicy", "entra-gateway").spec as {
      podSelector: { matchLabels: Record<string, string> };
      policyTypes: string[];
      ingress: { from?: unknown[]; ports: { port: string }[] }[];
    };
    expect(podLabels).toMatchObject(policy.podSelector.matchLabels);
    expect(policy.policyTypes).toContain("Ingress");
    const portNames = (gatewayContainer(example.objects).ports ?? []).map((p) => p.name);
    const open = policy.ingress.filter((r) => r.from === undefined).flatMap((r) => r.ports.map((p) => p.port));
    const restricted = policy.ingress.filter((r) => r.from !== undefined).flatMap((r) => r.ports.map((p) => p.port));
    expect(open).toEqual(["https"]);
    expect(restricted).toEqual(["metrics"]);
    for (const port of [...open, ...restricted]) expect(portNames).toContain(port);
  });

  it("the Prometheus scrape annotations name the metrics port that gateway.yaml opens on every interface", () => {
    const deployment = find(example.objects, "Deployment", "entra-gateway");
    const annotations = (deployment.spec as { template: { metadata: { annotations: Record<string, string> } } })
      .template.metadata.annotations;
    const metrics = exampleGatewayYaml().metrics as { host: string; port: number };
    expect(annotations["prometheus.io/scrape"]).toBe("true");
    expect(annotations["prometheus.io/path"]).toBe("/metrics");
    expect(Number(annotations["prometheus.io/port"])).toBe(metrics.port);
    expect(gatewayContainer(example.objects).ports?.find((p) => p.name === "metrics")?.containerPort).toBe(
      metrics.port,
    );
    expect(metrics.host).toBe("0.0.0.0");
  });

  it("every ConfigMap and Secret a pod uses is generated by the overlay, with every key it asks for", () => {
    const generated = new Map(example.generated.map((g) => [`${g.kind}/${g.name}`, g]));
    const refs: { kind: string; name: string; keys: string[] }[] = [];
    for (const workload of example.objects.filter((o) => o.kind === "Deployment" || o.kind === "StatefulSet")) {
      const pod = podSpecOf(workload);
      for (const v of pod.volumes ?? []) {
        const sources = [
          ...((v.projected as { sources: Record<string, unknown>[] } | undefined)?.sources ?? []),
          ...(v.configMap ? [{ configMap: v.configMap }] : []),
          ...(v.secret
            ? [{ secret: { ...(v.secret as object), name: (v.secret as { secretName: string }).secretName } }]
            : []),
        ];
        for (const s of sources) {
          const [kind, ref] = Object.entries(s)[0] as [string, { name: string; items?: { key: string }[] }];
          refs.push({
            kind: kind === "configMap" ? "ConfigMap" : "Secret",
            name: ref.name,
            keys: (ref.items ?? []).map((i) => i.key),
          });
        }
      }
      for (const c of pod.containers) {
        for (const e of c.env ?? []) {
          const ref = e.valueFrom?.secretKeyRef;
          if (ref) refs.push({ kind: "Secret", name: ref.name, keys: [ref.key] });
        }
      }
    }
    expect(refs.length).toBeGreaterThan(0);
    for (const ref of refs) {
      const g = generated.get(`${ref.kind}/${ref.name}`);
      expect(g, `${ref.kind}/${ref.name} is generated`).toBeDefined();
      for (const key of ref.keys) expect(Object.keys(g?.files ?? {}), `${ref.kind}/${ref.name} key`).toContain(key);
    }
  });

  it("the Redis component stays optional: the base renders without it and without any secret", () => {
    expect(base.objects.some((o) => o.metadata.name.includes("redis"))).toBe(false);
    expect(base.objects.some((o) => o.kind === "Secret" || o.kind === "ConfigMap")).toBe(false);
    expect(listFiles(DEPLOY_DIR).some((f) => f.startsWith("kubernetes/components/redis/"))).toBe(true);
  });
});

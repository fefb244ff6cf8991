import { execFile } from "node:child_process";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { fileURLToPath } from "node:url";
import { describe, expect, test } from "vitest";
import { parseAllDocuments } from "yaml";
import { parseManifest } from "../../src/manifest/parse.ts";

// The deployment examples are checked as CI can: every Kubernetes document parses and says what
// the docs say it does, the manifest in the ConfigMap is a valid rtsync manifest, and the
// systemd unit passes `systemd-analyze verify` (which works without a running systemd).

const EXAMPLES = fileURLToPath(new URL("../../examples/", import.meta.url));
const run = promisify(execFile);

interface K8sContainer {
  readonly image: string;
  readonly command?: readonly string[];
  readonly args: readonly string[];
  readonly readinessProbe: { readonly httpGet: { readonly path: string; readonly port: number } };
  readonly livenessProbe: { readonly httpGet: { readonly path: string; readonly port: number } };
  readonly volumeMounts: ReadonlyArray<{ readonly name: string; readonly mountPath: string }>;
  readonly securityContext?: { readonly privileged?: boolean; readonly capabilities?: { readonly drop?: readonly string[]; readonly add?: readonly string[] } };
}

interface K8sDoc {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { readonly name: string; readonly namespace?: string; readonly labels?: Record<string, string> };
  readonly data?: Record<string, string>;
  readonly endpoints?: ReadonlyArray<{ readonly addresses: readonly string[]; readonly nodeName?: string }>;
  readonly ports?: ReadonlyArray<{ readonly port: number }>;
  readonly spec?: {
    readonly clusterIP?: string;
    readonly ports?: ReadonlyArray<{ readonly port: number }>;
    readonly template: {
      readonly spec: {
        readonly hostNetwork?: boolean;
        readonly dnsPolicy?: string;
        readonly initContainers?: readonly K8sContainer[];
        readonly containers: readonly K8sContainer[];
        readonly volumes: ReadonlyArray<{ readonly name: string; readonly hostPath?: { readonly path: string }; readonly configMap?: { readonly name: string } }>;
      };
    };
  };
}

async function k8sDocuments(): Promise<K8sDoc[]> {
  const dir = join(EXAMPLES, "kubernetes");
  const docs: K8sDoc[] = [];
  for (const name of (await readdir(dir)).filter((n) => n.endsWith(".yaml")).sort()) {
    for (const doc of parseAllDocuments(await readFile(join(dir, name), "utf8"))) {
      expect(doc.errors, name).toEqual([]);
      const value = doc.toJS() as K8sDoc;
      expect(value, name).toMatchObject({ apiVersion: expect.any(String), kind: expect.any(String), metadata: { name: expect.any(String) } });
      docs.push(value);
    }
  }
  return docs;
}

describe("examples/kubernetes", () => {
  test("every document parses; the ConfigMap holds a valid manifest; the DaemonSet runs the agent on it", async () => {
    const docs = await k8sDocuments();
    expect(docs.map((d) => d.kind).sort()).toEqual(["ConfigMap", "DaemonSet", "EndpointSlice", "Namespace", "Secret", "Service"]);
    const text = docs.find((d) => d.kind === "ConfigMap")?.data?.["rtsync.yaml"] ?? "";
    const parsed = parseManifest(text, "configmap.yaml#rtsync.yaml");
    expect(parsed.ok ? [] : parsed.errors).toEqual([]);
    expect(parsed.warnings).toEqual([]);

    const ds = docs.find((d) => d.kind === "DaemonSet");
    const pod = ds?.spec?.template.spec;
    const agent = pod?.containers[0];
    if (!pod || !agent || !parsed.ok) throw new Error("no DaemonSet or no valid manifest");
    // The image's entry point is `rtsync agent` (Containerfile): the args start with the manifest.
    const containerfile = await readFile(join(EXAMPLES, "..", "Containerfile"), "utf8");
    expect(containerfile).toMatch(/^ENTRYPOINT \["\/usr\/bin\/tini", "--", "\/usr\/local\/bin\/rtsync", "agent"\]$/m);
    expect(agent.args[0]).toBe("/etc/rtsync/rtsync.yaml");
    const listen = agent.args[agent.args.indexOf("--listen") + 1];
    expect(listen).toBe("0.0.0.0:9873");
    expect(agent.readinessProbe.httpGet).toEqual({ path: "/healthz", port: 9873 });
    expect(agent.livenessProbe.httpGet).toEqual({ path: "/livez", port: 9873 });
    // What the manifest needs on the node is mounted from the node.
    const mounted = (path: string) => {
      const m = agent.volumeMounts.find((v) => path === v.mountPath || path.startsWith(`${v.mountPath}/`));
      return m && pod.volumes.find((v) => v.name === m.name);
    };
    expect(mounted("/etc/rtsync/rtsync.yaml")?.configMap?.name).toBe(docs.find((d) => d.kind === "ConfigMap")?.metadata.name);
    const m = parsed.manifest;
    const hostPaths = [m.stateDir ?? "", ...Object.values(m.daemons).flatMap((d) => Object.values(d.modules).map((mod) => mod.path)), ...Object.values(m.watches).map((w) => w.source)];
    for (const p of hostPaths) expect(mounted(p)?.hostPath, p).toBeDefined();
  });

  test("the image is the one scripts/build-image.sh names; only the init container that raises the sysctls is privileged", async () => {
    const docs = await k8sDocuments();
    const { version } = JSON.parse(await readFile(join(EXAMPLES, "..", "package.json"), "utf8")) as { version: string };
    const pod = docs.find((d) => d.kind === "DaemonSet")?.spec?.template.spec;
    if (!pod) throw new Error("no DaemonSet");
    const [init, agent] = [pod.initContainers?.[0], pod.containers[0]];
    if (!init || !agent) throw new Error("no init container or no agent");
    expect(await readFile(join(EXAMPLES, "..", "scripts", "build-image.sh"), "utf8")).toContain('image="${RTSYNC_IMAGE:-localhost/rtsync:$version}"');
    expect([init.image, agent.image]).toEqual([`localhost/rtsync:${version}`, `localhost/rtsync:${version}`]);
    expect(init.securityContext?.privileged).toBe(true);
    expect(agent.securityContext?.privileged).toBe(false);
    // The agent's capabilities: those the systemd unit bounds it to.
    const unit = await readFile(join(EXAMPLES, "systemd", "rtsync-agent.service"), "utf8");
    const bounding = (/^CapabilityBoundingSet=(.*)$/m.exec(unit)?.[1] ?? "").split(" ").map((c) => c.replace(/^CAP_/, ""));
    expect(agent.securityContext?.capabilities).toEqual({ drop: ["ALL"], add: bounding });
    // The init container raises exactly the manifest's sysctl: minimums.
    const parsed = parseManifest(docs.find((d) => d.kind === "ConfigMap")?.data?.["rtsync.yaml"] ?? "", "configmap.yaml#rtsync.yaml");
    if (!parsed.ok) throw new Error("invalid manifest");
    const raised = Object.fromEntries([...(init.command?.join("\n") ?? "").matchAll(/^raise (\S+) (\d+)$/gm)].map((m) => [`fs.inotify.${m[1]}`, Number(m[2])]));
    expect(raised).toEqual(parsed.manifest.sysctl);
  });

  test("a watch's target names a headless Service whose endpoint is the node that runs the daemon", async () => {
    const docs = await k8sDocuments();
    const parsed = parseManifest(docs.find((d) => d.kind === "ConfigMap")?.data?.["rtsync.yaml"] ?? "", "configmap.yaml#rtsync.yaml");
    if (!parsed.ok) throw new Error("invalid manifest");
    const pod = docs.find((d) => d.kind === "DaemonSet")?.spec?.template.spec;
    expect([pod?.hostNetwork, pod?.dnsPolicy]).toEqual([true, "ClusterFirstWithHostNet"]);
    const daemons = Object.values(parsed.manifest.daemons);
    for (const w of Object.values(parsed.manifest.watches)) {
      const url = new URL(w.target ?? "");
      const [service, namespace, ...rest] = url.hostname.split(".");
      expect(rest.join("."), url.hostname).toBe("svc.cluster.local");
      const svc = docs.find((d) => d.kind === "Service" && d.metadata.name === service && d.metadata.namespace === namespace);
      expect(svc?.spec?.clusterIP, `Service ${service}`).toBe("None");
      const slice = docs.find((d) => d.kind === "EndpointSlice" && d.metadata.labels?.["kubernetes.io/service-name"] === service);
      const node = slice?.endpoints?.[0]?.nodeName ?? "";
      expect(slice?.endpoints?.[0]?.addresses[0]).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
      // That node runs a daemon on the port the target names, exporting its module.
      const daemon = daemons.find((d) => d.nodes?.includes(node) && (d.port ?? 873) === Number(url.port || 873));
      expect(daemon, `a daemon on ${node}:${url.port}`).toBeDefined();
      expect(Object.keys(daemon?.modules ?? {})).toContain(url.pathname.slice(1));
    }
  });
});

describe("examples/systemd", () => {
  test("rtsync-agent.service passes systemd-analyze verify and keeps replication running across agent restarts", async () => {
    const unit = await readFile(join(EXAMPLES, "systemd", "rtsync-agent.service"), "utf8");
    expect(unit).toMatch(/^KillMode=process$/m);
    expect(unit).toMatch(/^Restart=always$/m);
    expect(unit).toMatch(/^ExecStart=\/usr\/local\/bin\/rtsync agent /m);
    // verify checks that ExecStart's program exists; CI has no rtsync in /usr/local/bin, so the
    // copy verified names node instead (everything else as written).
    const dir = await mkdtemp(join(tmpdir(), "rtsync-unit-"));
    try {
      const copy = join(dir, "rtsync-agent.service");
      await writeFile(copy, unit.replace(/^ExecStart=\/usr\/local\/bin\/rtsync /m, `ExecStart=${process.execPath} `));
      const r = await run("systemd-analyze", ["verify", copy]).catch((e: { code?: unknown; stderr?: string }) => {
        if (e.code === "ENOENT") throw new Error("systemd-analyze is not installed (apt-get install systemd); .ci/run installs it");
        return { stdout: "", stderr: `exit ${String(e.code)}: ${e.stderr ?? ""}` };
      });
      expect(`${r.stdout}${r.stderr}`).toBe("");
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

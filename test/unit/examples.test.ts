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

interface K8sDoc {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { readonly name: string };
  readonly data?: Record<string, string>;
  readonly spec?: {
    readonly template: {
      readonly spec: {
        readonly hostNetwork?: boolean;
        readonly containers: ReadonlyArray<{
          readonly args: readonly string[];
          readonly readinessProbe: { readonly httpGet: { readonly path: string; readonly port: number } };
          readonly livenessProbe: { readonly httpGet: { readonly path: string; readonly port: number } };
          readonly volumeMounts: ReadonlyArray<{ readonly name: string; readonly mountPath: string }>;
        }>;
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
    expect(docs.map((d) => d.kind).sort()).toEqual(["ConfigMap", "DaemonSet", "Namespace", "Secret"]);
    const text = docs.find((d) => d.kind === "ConfigMap")?.data?.["rtsync.yaml"] ?? "";
    const parsed = parseManifest(text, "configmap.yaml#rtsync.yaml");
    expect(parsed.ok ? [] : parsed.errors).toEqual([]);
    expect(parsed.warnings).toEqual([]);

    const ds = docs.find((d) => d.kind === "DaemonSet");
    const pod = ds?.spec?.template.spec;
    const agent = pod?.containers[0];
    if (!pod || !agent || !parsed.ok) throw new Error("no DaemonSet or no valid manifest");
    expect(agent.args.slice(0, 2)).toEqual(["agent", "/etc/rtsync/rtsync.yaml"]);
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

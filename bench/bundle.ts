// The OCI bundle crun, runc and box oci run in the benchmarks: `runc spec`'s config with the
// busybox rootfs, box's namespaces and the seccomp filter box gives every container (Docker's
// default profile), so that the runtimes do the same work.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { defaultProfileJson } from "../src/security/seccomp.ts";
import { DEFAULT_CAPABILITIES } from "../src/security/capabilities.ts";

export function writeBundle(dir: string, rootfs: string, env: Record<string, string>, args: string[], resources?: object): void {
  mkdirSync(dir, { recursive: true });
  const r = Bun.spawnSync(["runc", "spec"], { cwd: dir, env, stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`runc spec: ${r.stderr.toString()}`);
  const config = JSON.parse(readFileSync(join(dir, "config.json"), "utf8")) as {
    process: { terminal: boolean; args: string[] };
    root: { path: string; readonly: boolean };
    linux: { namespaces: { type: string }[]; resources?: object };
  };
  config.process.terminal = false;
  config.process.args = args;
  config.root = { path: rootfs, readonly: false };
  // box's namespaces: pid, network, ipc, uts, mount, and a cgroup namespace for the payload.
  const wanted = ["pid", "network", "ipc", "uts", "mount", "cgroup"];
  const have = new Set(config.linux.namespaces.map((n) => n.type));
  for (const t of wanted) if (!have.has(t)) config.linux.namespaces.push({ type: t });
  config.linux.namespaces = config.linux.namespaces.filter((n) => wanted.includes(n.type));
  if (resources) config.linux.resources = { ...config.linux.resources, ...resources };
  (config.linux as { seccomp?: object }).seccomp = defaultProfileJson(DEFAULT_CAPABILITIES);
  writeFileSync(join(dir, "config.json"), JSON.stringify(config, null, 2));
}

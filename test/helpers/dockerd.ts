// A private dockerd (Debian's docker.io, 20.10) with its own containerd, for the tests and the
// benchmark: its own roots, sockets and state under one directory, no iptables, no bridge, cgroupfs,
// and box registered as the runtime "box" through a link named runc. Nothing of a system Docker
// is touched; `stop` undoes what dockerd makes outside its roots whatever its flags.
import { existsSync, mkdtempSync, readdirSync, rmdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export interface Dockerd {
  dir: string;
  /** The docker CLI's argv for this daemon. */
  docker: string[];
  run(args: string[], stdin?: string): Promise<{ code: number; stdout: string; stderr: string }>;
  stop(): Promise<void>;
}

/** What dockerd makes outside its roots whatever its flags (its trust key, its plugin directory). */
const OUTSIDE = ["/etc/docker/key.json", "/run/docker/plugins", "/run/docker"];

/** The `docker` cgroups (v1: one per hierarchy) that Docker's cgroupsPath /docker/ID needs. */
function dockerCgroups(): string[] {
  if (existsSync("/sys/fs/cgroup/cgroup.controllers")) return ["/sys/fs/cgroup/docker"];
  return readdirSync("/sys/fs/cgroup").map((h) => join("/sys/fs/cgroup", h, "docker"));
}

async function until(check: () => Promise<boolean> | boolean, ms: number, what: string): Promise<void> {
  for (const end = Date.now() + ms; !(await check()); await Bun.sleep(50)) {
    if (Date.now() > end) throw new Error(`${what} did not come up within ${ms} ms`);
  }
}

/**
 * Starts containerd and dockerd; `box` runs box (its executable, or Bun with the source tree).
 * A short directory: socket paths are limited to 108 bytes.
 */
export async function startDockerd(box: string[]): Promise<Dockerd> {
  const dir = mkdtempSync("/tmp/bd-");
  const existed = OUTSIDE.filter((p) => existsSync(p));
  const cgroupsExisted = dockerCgroups().filter((d) => existsSync(d));
  // The executable through a link named runc; the source tree through a script doing the same.
  if (box.length === 1) symlinkSync(box[0]!, join(dir, "runc"));
  else writeFileSync(join(dir, "runc"), `#!/bin/sh\nexec ${box.join(" ")} oci "$@"\n`, { mode: 0o755 });
  writeFileSync(
    join(dir, "containerd.toml"),
    ["version = 2", `root = "${dir}/ctd-root"`, `state = "${dir}/ctd-state"`, 'disabled_plugins = ["io.containerd.grpc.v1.cri"]', "[grpc]", `  address = "${dir}/ctd.sock"`, "[ttrpc]", `  address = "${dir}/ctd.sock.ttrpc"`, "[debug]", `  address = "${dir}/ctd-debug.sock"`, ""].join("\n"),
  );
  const log = Bun.file(join(dir, "daemons.log"));
  const containerd = Bun.spawn(["containerd", "--config", join(dir, "containerd.toml")], { stdout: log, stderr: log });
  writeFileSync(join(dir, "daemon.json"), "{}");
  const docker = ["/usr/bin/docker", "-H", `unix://${dir}/docker.sock`];
  const run = async (args: string[], stdin?: string) => {
    const proc = Bun.spawn([...docker, ...args], { stdin: stdin === undefined ? "ignore" : new Blob([stdin]), stdout: "pipe", stderr: "pipe" });
    const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
    return { code, stdout, stderr };
  };
  let dockerd: ReturnType<typeof Bun.spawn> | undefined;
  const stop = async () => {
    const ids = existsSync(join(dir, "docker.sock")) ? (await run(["ps", "-aq"])).stdout.split("\n").filter(Boolean) : [];
    if (ids.length) await run(["rm", "-f", ...ids]);
    dockerd?.kill("SIGTERM");
    await dockerd?.exited;
    containerd.kill("SIGTERM");
    await containerd.exited;
    for (const d of dockerCgroups()) {
      if (!cgroupsExisted.includes(d) && existsSync(d)) rmdirSync(d);
    }
    for (const p of OUTSIDE) {
      if (!existed.includes(p)) rmSync(p, { recursive: true, force: true });
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await until(() => existsSync(join(dir, "ctd.sock")), 20000, "containerd");
    dockerd = Bun.spawn(
      [
        "dockerd", "--config-file", join(dir, "daemon.json"), "--containerd", join(dir, "ctd.sock"), "--data-root", join(dir, "data"),
        "--exec-root", join(dir, "exec"), "--pidfile", join(dir, "docker.pid"), "-H", `unix://${dir}/docker.sock`,
        "--iptables=false", "--ip-forward=false", "--ip-masq=false", "--bridge=none", "--storage-driver", "vfs",
        "--exec-opt", "native.cgroupdriver=cgroupfs", "--add-runtime", `box=${join(dir, "runc")}`,
      ],
      { stdout: log, stderr: log },
    );
    await until(async () => existsSync(join(dir, "docker.sock")) && (await run(["version"])).code === 0, 30000, "dockerd");
  } catch (e) {
    await stop();
    throw e;
  }
  return { dir, docker, run, stop };
}

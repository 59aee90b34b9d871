// A private dockerd (Debian's docker.io, 20.10) with its own containerd, for the tests and the
// benchmark: its own roots, sockets and state under one directory, no iptables, no bridge, cgroupfs,
// and box registered as the runtime "box" through a link named runc. Nothing of a system Docker
// is touched; `stop` undoes what dockerd makes outside its roots whatever its flags.
import { existsSync, readdirSync, rmdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { startContainerd, until } from "./containerd.ts";

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

/**
 * Starts containerd and dockerd; `box` runs box (its executable, or Bun with the source tree).
 * A short directory: socket paths are limited to 108 bytes.
 */
export async function startDockerd(box: string[]): Promise<Dockerd> {
  const existed = OUTSIDE.filter((p) => existsSync(p));
  const cgroupsExisted = dockerCgroups().filter((d) => existsSync(d));
  const containerd = await startContainerd(box, "/tmp/bd-");
  const dir = containerd.dir;
  const log = Bun.file(join(dir, "dockerd.log"));
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
    await containerd.stop();
    for (const d of dockerCgroups()) {
      if (!cgroupsExisted.includes(d) && existsSync(d)) rmdirSync(d);
    }
    for (const p of OUTSIDE) {
      if (!existed.includes(p)) rmSync(p, { recursive: true, force: true });
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    dockerd = Bun.spawn(
      [
        "dockerd", "--config-file", join(dir, "daemon.json"), "--containerd", join(dir, "ctd.sock"), "--data-root", join(dir, "data"),
        "--exec-root", join(dir, "exec"), "--pidfile", join(dir, "docker.pid"), "-H", `unix://${dir}/docker.sock`,
        "--iptables=false", "--ip-forward=false", "--ip-masq=false", "--bridge=none", "--storage-driver", "vfs",
        "--exec-opt", "native.cgroupdriver=cgroupfs", "--add-runtime", `box=${containerd.runc}`,
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

// A real client: Debian's dockerd (20.10) with box registered as a runtime, through a link named
// runc, exactly as `dockerd --add-runtime box=PATH` runs any runtime. The test starts its own
// containerd and dockerd (private roots, sockets and state; no iptables, no bridge) and stops
// them afterwards; nothing of the host's Docker, if any, is touched.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, rmdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BOX, ROOTFS, snapshot, type Snapshot } from "./helpers/box.ts";

const dir = mkdtempSync("/tmp/bd-");
const docker = ["/usr/bin/docker", "-H", `unix://${dir}/docker.sock`];
let containerd: ReturnType<typeof Bun.spawn> | undefined;
let dockerd: ReturnType<typeof Bun.spawn> | undefined;
let before: Snapshot;
let cgroupParents: string[];
/** What dockerd makes outside its roots whatever its flags (its trust key, its plugin directory): removed after, if it made them. */
const DOCKERD_LEFTOVERS = ["/etc/docker/key.json", "/run/docker/plugins", "/run/docker"];
let leftoversBefore: string[];

async function run(args: string[], stdin?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const proc = Bun.spawn([...docker, ...args], { stdin: stdin === undefined ? "ignore" : new Blob([stdin]), stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { code, stdout, stderr };
}

async function until(check: () => Promise<boolean> | boolean, ms: number, what: string): Promise<void> {
  for (const end = Date.now() + ms; !(await check()); await Bun.sleep(100)) {
    if (Date.now() > end) throw new Error(`${what}: not within ${ms} ms`);
  }
}

/** The v1 hierarchies' (or v2's) `docker` cgroup: box makes it for Docker's cgroupsPath /docker/ID. */
function dockerCgroups(): string[] {
  const v2 = existsSync("/sys/fs/cgroup/cgroup.controllers");
  return v2 ? ["/sys/fs/cgroup/docker"] : readdirSync("/sys/fs/cgroup").map((h) => join("/sys/fs/cgroup", h, "docker"));
}

beforeAll(async () => {
  before = snapshot();
  cgroupParents = dockerCgroups().filter((d) => existsSync(d));
  leftoversBefore = DOCKERD_LEFTOVERS.filter((p) => existsSync(p));
  // What dockerd runs for --runtime box: box, by the name runc.
  symlinkSync(BOX[0]!, join(dir, "runc"));
  writeFileSync(
    join(dir, "containerd.toml"),
    [
      "version = 2",
      `root = "${dir}/ctd-root"`,
      `state = "${dir}/ctd-state"`,
      'disabled_plugins = ["io.containerd.grpc.v1.cri"]',
      "[grpc]",
      `  address = "${dir}/ctd.sock"`,
      "[ttrpc]",
      `  address = "${dir}/ctd.sock.ttrpc"`,
      "[debug]",
      `  address = "${dir}/ctd-debug.sock"`,
      "",
    ].join("\n"),
  );
  containerd = Bun.spawn(["containerd", "--config", join(dir, "containerd.toml")], { stdout: Bun.file(join(dir, "containerd.log")), stderr: Bun.file(join(dir, "containerd.log")) });
  await until(() => existsSync(join(dir, "ctd.sock")), 20000, "containerd");
  writeFileSync(join(dir, "daemon.json"), "{}");
  dockerd = Bun.spawn(
    [
      "dockerd", "--config-file", join(dir, "daemon.json"), "--containerd", join(dir, "ctd.sock"), "--data-root", join(dir, "data"),
      "--exec-root", join(dir, "exec"), "--pidfile", join(dir, "docker.pid"), "-H", `unix://${dir}/docker.sock`,
      "--iptables=false", "--ip-forward=false", "--ip-masq=false", "--bridge=none", "--storage-driver", "vfs",
      "--exec-opt", "native.cgroupdriver=cgroupfs", "--add-runtime", `box=${join(dir, "runc")}`,
    ],
    { stdout: Bun.file(join(dir, "dockerd.log")), stderr: Bun.file(join(dir, "dockerd.log")) },
  );
  await until(async () => existsSync(join(dir, "docker.sock")) && (await run(["version"])).code === 0, 30000, "dockerd");
  const tar = join(dir, "busybox.tar");
  expect(Bun.spawnSync(["tar", "-C", ROOTFS, "-cf", tar, "."]).exitCode).toBe(0);
  const imported = await run(["import", tar, "busybox:box"]);
  expect(imported.stderr).toBe("");
}, 60000);

afterAll(async () => {
  const ids = (await run(["ps", "-aq"])).stdout.split("\n").filter(Boolean);
  if (ids.length) await run(["rm", "-f", ...ids]);
  dockerd?.kill("SIGTERM");
  await dockerd?.exited;
  containerd?.kill("SIGTERM");
  await containerd?.exited;
  // The `docker` cgroup parents box made for this test (runc keeps parents; these are ours to remove).
  for (const d of dockerCgroups()) {
    if (!cgroupParents.includes(d) && existsSync(d)) rmdirSync(d);
  }
  for (const p of DOCKERD_LEFTOVERS) {
    if (!leftoversBefore.includes(p)) rmSync(p, { recursive: true, force: true });
  }
  const after = snapshot();
  const mounts = after.mounts.filter((m) => !before.mounts.includes(m));
  rmSync(dir, { recursive: true, force: true });
  expect(mounts).toEqual([]);
  expect(after.links.filter((l) => !before.links.includes(l))).toEqual([]);
}, 60000);

describe("docker run --runtime box (dockerd 20.10 through containerd's runc shim)", () => {
  test("hostname, memory limit, exit code, output", async () => {
    const r = await run(["run", "--rm", "--runtime", "box", "--network", "none", "--hostname", "web", "-m", "64m", "busybox:box", "sh", "-c", "hostname; cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max; echo to-stderr >&2; exit 3"]);
    expect(r.stdout).toBe(`web\n${64 * 1024 * 1024}\n`);
    expect(r.stderr).toBe("to-stderr\n");
    expect(r.code).toBe(3);
  }, 30000);

  test("a detached container: docker exec (plain and -t), top, stop with its stop signal, logs, exit code", async () => {
    const started = await run(["run", "-d", "--runtime", "box", "--network", "none", "--name", "w1", "busybox:box", "sh", "-c", "trap 'echo bye; exit 0' TERM; echo hi; while true; do sleep 0.1; done"]);
    expect(started.stderr).toBe("");
    expect(started.code).toBe(0);
    const id = started.stdout.trim();
    const exec = await run(["exec", "w1", "sh", "-c", "echo in-exec; hostname; exit 4"]);
    expect(exec.stdout).toBe(`in-exec\n${id.slice(0, 12)}\n`);
    expect(exec.code).toBe(4);
    const tty = await run(["exec", "-t", "w1", "tty"]);
    expect(tty.stdout.trim()).toBe("/dev/pts/0");
    const top = await run(["top", "w1"]);
    expect(top.stdout).toContain("while true");
    // The container's state comes from box: its init is the pid containerd waits for.
    const pid = Number((await run(["inspect", "-f", "{{.State.Pid}}", "w1"])).stdout.trim());
    expect(readFileSync(`/proc/${pid}/cmdline`, "utf8")).toContain("__init");
    const stop = await run(["stop", "-t", "5", "w1"]);
    expect(stop.code).toBe(0);
    expect((await run(["logs", "w1"])).stdout).toBe("hi\nbye\n");
    expect((await run(["inspect", "-f", "{{.State.ExitCode}}", "w1"])).stdout.trim()).toBe("0");
    expect(existsSync(`/proc/${pid}`)).toBe(false);
    // Docker's runtime state dir for the container: box oci delete removed it.
    expect(existsSync(join(dir, "exec", "runtime-runc", "moby", "containers", id))).toBe(false);
    expect((await run(["rm", "w1"])).code).toBe(0);
  }, 60000);

  test("a terminal (docker run -t): the pty's master went to containerd over the console socket", async () => {
    const r = Bun.spawnSync(["script", "-qc", `${docker.join(" ")} run --rm -t --runtime box --network none busybox:box sh -c 'tty; echo t-ok'`, "/dev/null"], { stdout: "pipe", stderr: "pipe", timeout: 30000 });
    expect(r.stdout.toString().replace(/\r/g, "")).toBe("/dev/pts/0\nt-ok\n");
    expect(r.exitCode).toBe(0);
  }, 30000);

  test("docker kill, and a container killed by a signal: 128+N", async () => {
    expect((await run(["run", "-d", "--runtime", "box", "--network", "none", "--name", "k1", "busybox:box", "sleep", "1000"])).code).toBe(0);
    expect((await run(["kill", "k1"])).code).toBe(0);
    await until(async () => (await run(["inspect", "-f", "{{.State.Status}}", "k1"])).stdout.trim() === "exited", 10000, "exited");
    expect((await run(["inspect", "-f", "{{.State.ExitCode}}", "k1"])).stdout.trim()).toBe("137");
    expect((await run(["rm", "k1"])).code).toBe(0);
  }, 30000);
});

// A real client: Debian's dockerd (20.10) with box registered as a runtime, through a link named
// runc, exactly as `dockerd --add-runtime box=PATH` runs any runtime. The test starts its own
// containerd and dockerd (private roots, sockets and state; no iptables, no bridge) and stops
// them afterwards; nothing of the host's Docker, if any, is touched.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { BOX, ROOTFS, snapshot, type Snapshot } from "./helpers/box.ts";
import { startDockerd, type Dockerd } from "./helpers/dockerd.ts";

let d: Dockerd;
let before: Snapshot;
const run = (args: string[], stdin?: string) => d.run(args, stdin);

async function until(check: () => Promise<boolean> | boolean, ms: number, what: string): Promise<void> {
  for (const end = Date.now() + ms; !(await check()); await Bun.sleep(100)) {
    if (Date.now() > end) throw new Error(`${what}: not within ${ms} ms`);
  }
}

beforeAll(async () => {
  before = snapshot();
  d = await startDockerd(BOX);
  const tar = join(d.dir, "busybox.tar");
  expect(Bun.spawnSync(["tar", "-C", ROOTFS, "-cf", tar, "."]).exitCode).toBe(0);
  expect((await run(["import", tar, "busybox:box"])).stderr).toBe("");
}, 60000);

afterAll(async () => {
  await d?.stop();
  const after = snapshot();
  expect(after.mounts.filter((m) => !before.mounts.includes(m))).toEqual([]);
  expect(after.links.filter((l) => !before.links.includes(l))).toEqual([]);
  expect(after.cgroups.filter((c) => !before.cgroups.includes(c))).toEqual([]);
}, 60000);

describe("docker run --runtime box (dockerd 20.10 through containerd's runc shim)", () => {
  test("hostname, memory limit, exit code, output", async () => {
    const r = await run(["run", "--rm", "--runtime", "box", "--network", "none", "--hostname", "web", "-m", "64m", "busybox:box", "sh", "-c", "hostname; cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max; echo to-stderr >&2; exit 3"]);
    expect(r.stdout).toBe(`web\n${64 * 1024 * 1024}\n`);
    expect(r.stderr).toBe("to-stderr\n");
    expect(r.code).toBe(3);
    // Docker's config for another user than root (its capability sets) is taken as it is.
    const user = await run(["run", "--rm", "--runtime", "box", "--network", "none", "--user", "1000:1000", "--cap-add", "NET_ADMIN", "busybox:box", "sh", "-c", "id -u; grep CapEff /proc/self/status"]);
    expect(user.stderr).toBe("");
    expect(user.stdout).toBe(`1000\nCapEff:\t${"0".repeat(16)}\n`);
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
    // runc's process model: the pid containerd has is the container's process itself, in the
    // container's cgroup, so that what containerd reads from that cgroup is the container's.
    const pid = Number((await run(["inspect", "-f", "{{.State.Pid}}", "w1"])).stdout.trim());
    expect(readFileSync(`/proc/${pid}/cmdline`, "utf8")).toContain("while true");
    expect(readFileSync(`/proc/${pid}/cgroup`, "utf8")).toContain(`/docker/${id}`);
    // docker stats: the container's few processes and little memory (the cgroup of containerd's
    // own, the caller's, would show far more of both).
    const stats = (await run(["stats", "--no-stream", "--format", "{{.PIDs}} {{.MemUsage}}", "w1"])).stdout.trim();
    const [pids, usage] = stats.split(" ");
    expect(Number(pids)).toBeGreaterThanOrEqual(1);
    expect(Number(pids)).toBeLessThanOrEqual(3);
    expect(usage).toMatch(/^[\d.]+(B|KiB|MiB)$/);
    if (usage!.endsWith("MiB")) expect(parseFloat(usage!)).toBeLessThan(20);
    const stop = await run(["stop", "-t", "5", "w1"]);
    expect(stop.code).toBe(0);
    expect((await run(["logs", "w1"])).stdout).toBe("hi\nbye\n");
    expect((await run(["inspect", "-f", "{{.State.ExitCode}}", "w1"])).stdout.trim()).toBe("0");
    expect(existsSync(`/proc/${pid}`)).toBe(false);
    // Docker's runtime state dir for the container: box oci delete removed it.
    expect(existsSync(join(d.dir, "exec", "runtime-runc", "moby", "containers", id))).toBe(false);
    expect((await run(["rm", "w1"])).code).toBe(0);
  }, 60000);

  test("a terminal (docker run -t): the pty's master went to containerd over the console socket", async () => {
    const r = Bun.spawnSync(["script", "-qc", `${d.docker.join(" ")} run --rm -t --runtime box --network none busybox:box sh -c 'tty; echo t-ok'`, "/dev/null"], { stdout: "pipe", stderr: "pipe", timeout: 30000 });
    expect(r.stdout.toString().replace(/\r/g, "")).toBe("/dev/pts/0\nt-ok\n");
    expect(r.exitCode).toBe(0);
  }, 30000);

  test("an OOM kill in the container is reported as such (containerd watches the container's own cgroup)", async () => {
    const r = await run(["run", "--name", "oom", "--runtime", "box", "--network", "none", "-m", "16m", "--memory-swap", "16m", "busybox:box", "sh", "-c", "tail /dev/zero"]);
    expect(r.code).toBe(137);
    expect((await run(["inspect", "-f", "{{.State.OOMKilled}} {{.State.ExitCode}}", "oom"])).stdout.trim()).toBe("true 137");
    expect((await run(["rm", "oom"])).code).toBe(0);
  }, 60000);

  test("docker kill, and a container killed by a signal: 128+N", async () => {
    expect((await run(["run", "-d", "--runtime", "box", "--network", "none", "--name", "k1", "busybox:box", "sleep", "1000"])).code).toBe(0);
    expect((await run(["kill", "k1"])).code).toBe(0);
    await until(async () => (await run(["inspect", "-f", "{{.State.Status}}", "k1"])).stdout.trim() === "exited", 10000, "exited");
    expect((await run(["inspect", "-f", "{{.State.ExitCode}}", "k1"])).stdout.trim()).toBe("137");
    expect((await run(["rm", "k1"])).code).toBe(0);
  }, 30000);
});

// containerd as a real client: Debian's containerd 1.6 and its runc shim, driven by `ctr`, with
// box as the runc binary (`ctr run --runc-binary`). The Kubernetes pod pattern as kubelet lays it
// out: a pod cgroup made ahead (by kubelet, not the runtime), a sandbox container, then an app
// container joining the sandbox's network, IPC and UTS namespaces by path; exec, the container's
// own metrics, an OOM kill reported as such, kill and delete. Nothing is left after.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { BOX, eventually, readUntil, ROOTFS, snapshot, type Snapshot } from "./helpers/box.ts";
import { startContainerd, type Containerd } from "./helpers/containerd.ts";

let c: Containerd;
let before: Snapshot;
let rootfsDir: string;
const v2 = existsSync("/sys/fs/cgroup/cgroup.controllers");
const POD = `kubepods-box-test-${process.pid}`;

/** The hierarchies a pod cgroup is made in (v1: each mounted one; v2: the one). */
function hierarchies(): string[] {
  if (v2) return ["/sys/fs/cgroup"];
  return readdirSync("/sys/fs/cgroup").map((h) => join("/sys/fs/cgroup", h)).filter((d) => existsSync(join(d, "cgroup.procs")));
}

const ctr = async (args: string[]) => c.ctr(args);
async function ctrOk(args: string[]): Promise<string> {
  const r = await ctr(args);
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
  return r.stdout;
}

/** A copy of the busybox rootfs per container (ctr --rootfs uses it as it is). */
function rootfs(name: string): string {
  const dir = join(rootfsDir, name);
  cpSync(ROOTFS, dir, { recursive: true, verbatimSymlinks: true });
  return dir;
}

function taskPid(list: string, id: string): number {
  const line = list.split("\n").find((l) => l.startsWith(`${id} `));
  return Number(line?.trim().split(/\s+/)[1]);
}

beforeAll(async () => {
  before = snapshot();
  c = await startContainerd(BOX);
  rootfsDir = mkdtempSync("/tmp/ctd-rootfs-");
  // kubelet's pod cgroup, made before any container of the pod (v1: nothing copied down into cpuset).
  for (const h of hierarchies()) mkdirSync(join(h, POD, "pod1"), { recursive: true });
}, 60000);

afterAll(async () => {
  for (const id of ["app", "sandbox", "oom"]) {
    await ctr(["task", "kill", "-s", "SIGKILL", id]);
    await ctr(["task", "delete", "-f", id]);
    await ctr(["container", "delete", id]);
  }
  await c?.stop();
  for (const h of hierarchies()) {
    for (const d of [join(h, POD, "pod1"), join(h, POD)]) if (existsSync(d)) rmdirSync(d);
  }
  rmSync(rootfsDir, { recursive: true, force: true });
  rmSync(c.dir, { recursive: true, force: true });
  const after = snapshot();
  expect(after.mounts.filter((m) => !before.mounts.includes(m))).toEqual([]);
  expect(after.cgroups.filter((d) => !before.cgroups.includes(d))).toEqual([]);
}, 60000);

describe("ctr with box as its runc binary (containerd's runc shim)", () => {
  test("a pod: sandbox, an app joining its namespaces by path, under kubelet's pod cgroup; exec, metrics, kill, delete", async () => {
    // ctr's flags first: the rootfs and the id are its positionals. A --rootfs container has no
    // PATH (ctr sets none without an image): its commands by absolute path, as under runc.
    const common = ["--runc-binary", c.runc, "--rootfs"];
    await ctrOk(["run", "-d", ...common, "--cgroup", `/${POD}/pod1/sandbox`, "--cap-add", "CAP_SYS_ADMIN", rootfs("sandbox"), "sandbox", "/bin/sh", "-c", "hostname pod1; exec sleep 1000"]);
    const sandbox = taskPid(await ctrOk(["task", "ls"]), "sandbox");
    expect(sandbox).toBeGreaterThan(0);
    // The pid containerd has is the sandbox's process (runc's model), in the pod's cgroup.
    await eventually(() => readFileSync(`/proc/${sandbox}/cmdline`, "utf8").startsWith("sleep"));
    expect(readFileSync(`/proc/${sandbox}/cgroup`, "utf8")).toContain(`/${POD}/pod1/sandbox`);
    const join_ = ["network", "ipc", "uts"].flatMap((t) => ["--with-ns", `${t}:/proc/${sandbox}/ns/${t === "network" ? "net" : t}`]);
    await ctrOk(["run", "-d", ...common, "--cgroup", `/${POD}/pod1/app`, ...join_, rootfs("app"), "app", "/bin/sh", "-c", "exec sleep 1000"]);
    const app = taskPid(await ctrOk(["task", "ls"]), "app");
    for (const ns of ["net", "ipc", "uts"]) expect(readlinkSync(`/proc/${app}/ns/${ns}`)).toBe(readlinkSync(`/proc/${sandbox}/ns/${ns}`));
    expect(readlinkSync(`/proc/${app}/ns/pid`)).not.toBe(readlinkSync(`/proc/${sandbox}/ns/pid`));
    // exec in the app: the sandbox's hostname (its uts namespace).
    expect(await ctrOk(["task", "exec", "--exec-id", "e1", "app", "/bin/hostname"])).toBe("pod1\n");
    // metrics: the app's own cgroup, a process or two, not the shim's or containerd's.
    const metrics = JSON.parse(await ctrOk(["task", "metrics", "--format", "json", "app"]));
    const pids = v2 ? metrics.pids?.current ?? metrics.Pids?.Current : metrics.pids?.current;
    expect(pids).toBeGreaterThanOrEqual(1);
    expect(pids).toBeLessThanOrEqual(3);
    await ctrOk(["task", "kill", "-s", "SIGKILL", "app"]);
    await eventually(async () => (await ctr(["task", "ls"])).stdout.includes("app") && /app\s+\d+\s+STOPPED/.test((await ctr(["task", "ls"])).stdout), 10000);
    // A killed task's delete warns of its 137 on stderr (ctr's way): the status is what counts.
    expect((await ctr(["task", "delete", "app"])).code).toBe(0);
    await ctrOk(["container", "delete", "app"]);
    await ctrOk(["task", "kill", "-s", "SIGKILL", "sandbox"]);
    await eventually(async () => /sandbox\s+\d+\s+STOPPED/.test((await ctr(["task", "ls"])).stdout), 10000);
    expect((await ctr(["task", "delete", "sandbox"])).code).toBe(0);
    await ctrOk(["container", "delete", "sandbox"]);
    // The containers' cgroups went with them; kubelet's pod cgroup is its own, and stays.
    for (const h of hierarchies()) expect([existsSync(join(h, POD, "pod1", "app")), existsSync(join(h, POD, "pod1", "sandbox")), existsSync(join(h, POD, "pod1"))]).toEqual([false, false, true]);
  }, 60000);

  test("an OOM kill: containerd reports it (its OOM watch is on the container's cgroup)", async () => {
    const events = Bun.spawn(["ctr", "--address", c.socket, "events"], { stdout: "pipe", stderr: "ignore" });
    try {
      const r = await ctr(["run", "--rm", "--runc-binary", c.runc, "--rootfs", "--memory-limit", String(16 << 20), rootfs("oom"), "oom", "/bin/sh", "-c", "tail /dev/zero"]);
      expect([r.stderr, r.code]).toEqual(["", 137]);
      // The event stream: a /tasks/oom for this container.
      const seen = await readUntil(events.stdout.getReader(), "/tasks/oom", 10000);
      expect(seen).toMatch(/\/tasks\/oom.*"?container_id"?:?\s*"?oom/s);
    } finally {
      events.kill();
      await events.exited;
    }
  }, 60000);
});

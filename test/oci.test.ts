// box oci: runc's command line over a runtime-spec bundle. Each test writes a bundle (the busybox
// rootfs and a config.json), drives it through create/start/state/kill/delete (or run) as
// containerd does, and looks from inside the container and from the host.
import { describe, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, realpathSync, rmdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { hostname } from "node:os";
import { BOX, copyRootfs, eventually, readUntil, storePerTest, tempStore, type Result, type Store } from "./helpers/box.ts";

/** A store laid out as box oci lays its --root: the run dirs under root/run (so box ps/rm see them too). */
function ociStore(): Store {
  const s = tempStore();
  return { ...s, runroot: join(s.root, "run") };
}

const ctx = storePerTest(ociStore);

let calls = 0;

/**
 * One box oci command. Its stdout and stderr are files, as containerd's shim gives them: after
 * create (and run -d) the container's init holds them, so a pipe would not end with the command.
 */
async function oci(args: string[], opts: { stdin?: string; argv0?: string[]; cwd?: string } = {}): Promise<Result> {
  const out = join(ctx.s.dir, `call-${++calls}`);
  const proc = Bun.spawn([...(opts.argv0 ?? [...BOX, "oci"]), "--root", ctx.s.root, ...args], {
    cwd: opts.cwd,
    stdin: opts.stdin === undefined ? "ignore" : new Blob([opts.stdin]),
    stdout: Bun.file(`${out}.stdout`),
    stderr: Bun.file(`${out}.stderr`),
  });
  const code = await proc.exited;
  return { code, stdout: readFileSync(`${out}.stdout`, "utf8"), stderr: readFileSync(`${out}.stderr`, "utf8") };
}

type Config = Record<string, any>;

/** runc's default bundle as box oci spec writes it, with the busybox rootfs, no terminal, and `script` as the process. */
async function bundle(script: string, edit: (c: Config) => void = () => {}): Promise<string> {
  const dir = join(ctx.s.dir, `bundle-${Math.random().toString(36).slice(2, 8)}`);
  mkdirSync(dir);
  const r = await oci(["spec", "--bundle", dir]);
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
  symlinkSync(copyRootfs(ctx.s), join(dir, "rootfs"));
  const config = JSON.parse(readFileSync(join(dir, "config.json"), "utf8")) as Config;
  config.process.terminal = false;
  config.process.args = ["/bin/sh", "-c", script];
  config.root.readonly = false;
  edit(config);
  writeFileSync(join(dir, "config.json"), JSON.stringify(config));
  return dir;
}

async function state(id: string): Promise<Config> {
  const r = await oci(["state", id]);
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout);
}

/** `box oci run` in the foreground: the process's output and status. */
async function runBundle(dir: string, id = "c1", stdin?: string): Promise<Result> {
  return oci(["run", "--bundle", dir, id], { stdin });
}

function ok(r: Result): void {
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
}

/** The parent box made for a bundle's cgroupsPath in every hierarchy (as runc, it keeps parents): the test's own, removed. */
function removeParentCgroup(name: string): void {
  const v2 = existsSync("/sys/fs/cgroup/cgroup.controllers");
  const parents = (v2 ? [""] : readdirSync("/sys/fs/cgroup")).map((h) => join("/sys/fs/cgroup", h, name));
  for (const dir of parents) {
    try {
      rmdirSync(dir);
    } catch {}
  }
  expect(parents.filter((dir) => existsSync(dir))).toEqual([]);
}

/** Refused with one line on stderr, exit 125, and nothing of the container left. */
function refused(r: Result, text: string): void {
  expect(r.code).toBe(125);
  expect(r.stderr.split("\n").filter(Boolean)).toHaveLength(1);
  expect(r.stderr).toContain(text);
  expect(existsSync(join(ctx.s.root, "containers")) ? readdirSync(join(ctx.s.root, "containers")) : []).toEqual([]);
}

describe("lifecycle (runtime spec: creating → created → running → stopped)", () => {
  test("create waits before the process; start runs it; kill, then delete; each state on the way", async () => {
    const out = join(ctx.s.dir, "out");
    mkdirSync(out);
    const dir = await bundle("echo ran > /out/ran; echo started; trap 'echo got TERM; exit 7' TERM; while true; do sleep 0.05; done", (c) => {
      c.mounts.push({ destination: "/out", type: "bind", source: out, options: ["rbind", "rw"] });
      c.annotations = { "org.example/k": "v" };
    });
    const pidFile = join(ctx.s.dir, "init.pid");
    const stdout = join(ctx.s.dir, "stdout");
    // As the shim: create's stdio is the container's; create returns while the container waits.
    const create = Bun.spawn([...BOX, "oci", "--root", ctx.s.root, "create", "--bundle", dir, "--pid-file", pidFile, "c1"], { stdout: Bun.file(stdout), stderr: Bun.file(stdout) });
    expect(await create.exited).toBe(0);
    // Digits only, no newline: containerd reads it with Atoi.
    const pidText = readFileSync(pidFile, "utf8");
    expect(pidText).toMatch(/^\d+$/);
    const created = await state("c1");
    expect(created).toMatchObject({ ociVersion: "1.2.0", id: "c1", status: "created", pid: Number(pidText), bundle: dir, annotations: { "org.example/k": "v" } });
    // The process to be waits, as runc's init does: PID 1 of the container, already in its
    // namespaces (its cgroup namespace too), one thread of a few KB, no Bun and no box init left.
    const status = readFileSync(`/proc/${pidText}/status`, "utf8");
    expect(status).toMatch(/^NSpid:\s+\d+\s+1$/m);
    expect(status).toMatch(/^Threads:\s+1$/m);
    expect(Number(/^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1])).toBeLessThan(1024);
    for (const ns of ["cgroup", "pid", "mnt", "uts", "ipc", "net"]) expect(readlinkSync(`/proc/${pidText}/ns/${ns}`)).not.toBe(readlinkSync(`/proc/self/ns/${ns}`));
    expect(readFileSync(`/proc/${pidText}/cmdline`, "utf8")).not.toContain("__init");
    await Bun.sleep(200);
    expect(existsSync(join(out, "ran"))).toBe(false);

    ok(await oci(["start", "c1"]));
    await eventually(() => existsSync(join(out, "ran")));
    expect((await state("c1")).status).toBe("running");
    refused2(await oci(["start", "c1"]), "cannot start a container that is not created (running)");
    refused2(await oci(["delete", "c1"]), "cannot delete container c1 that is not stopped: running");

    ok(await oci(["kill", "c1", "TERM"]));
    await eventually(async () => (await state("c1")).status === "stopped");
    expect((await state("c1")).pid).toBe(0);
    expect(readFileSync(stdout, "utf8")).toBe("started\ngot TERM\n");
    refused2(await oci(["kill", "c1", "KILL"]), "container not running");

    ok(await oci(["delete", "c1"]));
    refused2(await oci(["state", "c1"]), "container c1 does not exist");
  });

  test("kill --all of a created container ends it", async () => {
    ok(await oci(["create", "--bundle", await bundle("true"), "c1"]));
    ok(await oci(["kill", "--all", "c1", "TERM"]));
    await eventually(async () => (await state("c1")).status === "stopped");
    ok(await oci(["delete", "c1"]));
  });

  test("a created container is killed and deleted without ever running its process", async () => {
    const dir = await bundle("touch /never");
    ok(await oci(["create", "--bundle", dir, "c1"]));
    const pid = (await state("c1")).pid;
    ok(await oci(["kill", "c1", "TERM"]));
    await eventually(async () => (await state("c1")).status === "stopped");
    expect(existsSync(`/proc/${pid}`) && !readFileSync(`/proc/${pid}/stat`, "utf8").includes(") Z ")).toBe(false);
    ok(await oci(["delete", "c1"]));
    expect(existsSync(join(copyRootfs(ctx.s), "never"))).toBe(false);
  });

  test("delete --force of a running container kills it; ps lists its processes; kill --all signals each", async () => {
    const dir = await bundle("sleep 1000 & sleep 1000 & wait");
    ok(await oci(["run", "-d", "--bundle", dir, "c1"]));
    let pids: number[] = [];
    await eventually(async () => (pids = JSON.parse((await oci(["ps", "--format", "json", "c1"])).stdout)).length === 3);
    for (const p of pids) expect(readFileSync(`/proc/${p}/cmdline`, "utf8")).toMatch(/^(\/bin\/)?(sh|sleep)\0/);
    expect((await oci(["ps", "c1"])).stdout).toContain("sleep 1000");
    ok(await oci(["kill", "--all", "c1", "STOP"]));
    for (const p of pids) await eventually(() => / [Tt] /.test(readFileSync(`/proc/${p}/stat`, "utf8").replace(/^.*\)/, "")));
    ok(await oci(["kill", "--all", "c1", "CONT"]));
    ok(await oci(["delete", "--force", "c1"]));
    // Gone, or dead and waiting to be reaped: the container's process (PID 1 of it) is its
    // caller's to reap (containerd's shim, a subreaper; here the host's init, which may not).
    for (const p of pids) expect(!existsSync(`/proc/${p}`) || / Z /.test(readFileSync(`/proc/${p}/stat`, "utf8").replace(/^.*\)/, ""))).toBe(true);
  });

  test("a running container's init sleeps while nothing happens (no busy loop)", async () => {
    ok(await oci(["run", "-d", "--bundle", await bundle("sleep 100"), "c1"]));
    const pid = (await state("c1")).pid;
    const cpu = () => readFileSync(`/proc/${pid}/stat`, "utf8").replace(/^.*\) /, "").split(" ").slice(11, 13).reduce((a, b) => a + Number(b), 0);
    await Bun.sleep(200);
    const before = cpu();
    await Bun.sleep(1000);
    // Clock ticks (1/100 s): a spinning init uses ~100 in that second.
    expect(cpu() - before).toBeLessThan(10);
    ok(await oci(["delete", "-f", "c1"]));
  });

  test("pause and resume freeze and thaw the container's processes", async () => {
    const out = join(ctx.s.dir, "out");
    mkdirSync(out);
    const dir = await bundle("i=0; while true; do i=$((i+1)); echo $i > /out/n; sleep 0.02; done", (c) => {
      c.mounts.push({ destination: "/out", type: "bind", source: out, options: ["bind"] });
    });
    ok(await oci(["run", "-d", "--bundle", dir, "c1"]));
    await eventually(() => existsSync(join(out, "n")));
    ok(await oci(["pause", "c1"]));
    expect((await state("c1")).status).toBe("paused");
    const frozen = readFileSync(join(out, "n"), "utf8");
    await Bun.sleep(200);
    expect(readFileSync(join(out, "n"), "utf8")).toBe(frozen);
    refused2(await oci(["delete", "c1"]), "that is not stopped: paused");
    ok(await oci(["resume", "c1"]));
    expect((await state("c1")).status).toBe("running");
    await eventually(() => readFileSync(join(out, "n"), "utf8") !== frozen);
    ok(await oci(["delete", "-f", "c1"]));
  });

  test("run in the foreground: the process's stdio is the caller's, its status box oci's", async () => {
    const dir = await bundle("read line; echo \"out:$line\"; echo err >&2; exit 42");
    const r = await runBundle(dir, "c1", "hello\n");
    expect(r.stdout).toBe("out:hello\n");
    expect(r.stderr).toBe("err\n");
    expect(r.code).toBe(42);
    // run removes what it made.
    expect(existsSync(join(ctx.s.root, "containers", "c1"))).toBe(false);
    // Killed from outside (the process is PID 1 of its namespace: its own SIGKILL to itself is
    // ignored, as under runc), the status says which signal.
    const out = join(ctx.s.dir, "out");
    mkdirSync(out);
    const running = runBundle(await bundle("kill -KILL $$; echo survived; touch /out/survived; sleep 100", (c) => c.mounts.push({ destination: "/out", type: "bind", source: out, options: ["rbind", "rw"] })), "c2");
    await eventually(() => existsSync(join(out, "survived")));
    ok(await oci(["kill", "c2", "KILL"]));
    const killed = await running;
    expect([killed.stdout, killed.code]).toEqual(["survived\n", 137]);
  });

  test("list shows every container with its state", async () => {
    ok(await oci(["create", "--bundle", await bundle("true"), "one"]));
    ok(await oci(["run", "-d", "--bundle", await bundle("sleep 100"), "two"]));
    const list = await oci(["list", "--format", "json"]);
    ok(list);
    const rows = JSON.parse(list.stdout) as Config[];
    expect(rows.map((r) => [r.id, r.status]).sort()).toEqual([["one", "created"], ["two", "running"]]);
    expect((await oci(["list", "-q"])).stdout.split("\n").filter(Boolean).sort()).toEqual(["one", "two"]);
    ok(await oci(["delete", "-f", "one"]));
    ok(await oci(["delete", "-f", "two"]));
  });
  test("create builds the container in its own process, which comes back: the container's process is PID 1 from its first instruction, no init of box's runs, and what create does after (hooks, --pid-file) is in the caller's namespaces and directory", async () => {
    const log = join(ctx.s.dir, "hook.log");
    const dir = await bundle("hostname", (c) => {
      c.hostname = "inside";
      c.hooks = { createRuntime: [{ path: "/bin/sh", args: ["sh", "-c", `for ns in mnt net uts ipc pid; do readlink /proc/self/ns/$ns; done > ${log}; hostname >> ${log}`] }] };
    });
    const cwd = join(ctx.s.dir, "caller");
    mkdirSync(cwd);
    ok(await oci(["create", "--bundle", dir, "--pid-file", "pid", "c1"], { cwd }));
    const { pid } = await state("c1");
    expect(readFileSync(join(cwd, "pid"), "utf8")).toBe(String(pid));
    const host = ["mnt", "net", "uts", "ipc", "pid"].map((ns) => readlinkSync(`/proc/self/ns/${ns}`));
    expect(readFileSync(log, "utf8")).toBe(`${[...host, hostname()].join("\n")}\n`);
    // Waiting for start: the spawn steps' program, PID 1 of the container's pid namespace, in the
    // container's namespaces (none of them the caller's).
    expect(readlinkSync(`/proc/${pid}/exe`)).toContain("box-stage2");
    expect(readFileSync(`/proc/${pid}/status`, "utf8")).toMatch(/^NSpid:\s+\d+\s+1$/m);
    for (const [i, ns] of ["mnt", "net", "uts", "ipc", "pid"].entries()) {
      expect(readlinkSync(`/proc/${pid}/ns/${ns === "pid" ? "pid_for_children" : ns}`)).not.toBe(host[i]);
    }
    const inits = readdirSync("/proc").filter((p) => /^\d+$/.test(p) && environOf(p).includes(`BOX_ROOT=${ctx.s.root}`));
    expect(inits).toEqual([]);
    ok(await oci(["start", "c1"]));
    await eventually(async () => (await state("c1")).status === "stopped");
    ok(await oci(["delete", "c1"]));
    // The mounts in the bundle's order (the spec's MUST), /proc among them though the process makes it.
    const order = await bundle("cut -d' ' -f5 /proc/self/mountinfo");
    const r = await runBundle(order, "c2");
    const points = r.stdout.split("\n").filter((p) => ["/proc", "/dev", "/dev/pts", "/dev/shm", "/dev/mqueue", "/sys"].includes(p));
    expect(points).toEqual(["/proc", "/dev", "/dev/pts", "/dev/shm", "/dev/mqueue", "/sys"]);
  });

  test("a step of the process's start that fails before it is created (a limit the kernel refuses) fails create with that step's name, and leaves nothing", async () => {
    const dir = await bundle("true", (c) => {
      c.process.rlimits = [{ type: "RLIMIT_NOFILE", soft: 1024, hard: 2 ** 40 }];
    });
    refused(await oci(["create", "--bundle", dir, "c1"]), "prlimit64: EPERM");
  });
});

function environOf(pid: string): string {
  try {
    return readFileSync(`/proc/${pid}/environ`, "utf8");
  } catch {
    return "";
  }
}

/** A failed command: exit 125, one line naming what was wrong. */
function refused2(r: Result, text: string): void {
  expect(r.code).toBe(125);
  expect(r.stderr.split("\n").filter(Boolean)).toHaveLength(1);
  expect(r.stderr).toContain(text);
}

describe("config.json, field by field", () => {
  test("process: args, env exactly as given, cwd, user with additionalGids, umask, rlimits, noNewPrivileges, oomScoreAdj", async () => {
    const dir = await bundle("echo \"env:$(env | sort | tr '\\n' ' ')\"; pwd; id; umask; ulimit -n; ulimit -Hn; grep NoNewPrivs /proc/self/status; cat /proc/self/oom_score_adj", (c) => {
      c.process.env = ["PATH=/bin", "ONE=1"];
      c.process.cwd = "/tmp/work";
      c.process.user = { uid: 1000, gid: 1000, additionalGids: [10, 29], umask: 0o027 };
      c.process.rlimits = [{ type: "RLIMIT_NOFILE", soft: 321, hard: 654 }];
      c.process.noNewPrivileges = true;
      c.process.oomScoreAdj = 123;
    });
    const r = await runBundle(dir);
    expect(r.stderr).toBe("");
    expect(r.stdout.split("\n")).toEqual([
      "env:ONE=1 PATH=/bin PWD=/tmp/work SHLVL=1 ",
      "/tmp/work",
      "uid=1000(alice) gid=1000(alice) groups=10(wheel),29(audio)",
      "0027",
      "321",
      "654",
      "NoNewPrivs:\t1",
      "123",
      "",
    ]);
    expect(r.code).toBe(0);
  });

  test("capabilities: the five sets as given, for root and another user (whose ambient ones survive its execve), as the kernel applies them under runc", async () => {
    const caps = ["CAP_CHOWN", "CAP_KILL", "CAP_NET_RAW"];
    const mask = (...bits: number[]) => bits.reduce((m, b) => m | (1n << BigInt(b)), 0n).toString(16).padStart(16, "0");
    // CHOWN 0, KILL 5, NET_RAW 13. Root's execve makes permitted and effective the bounding set
    // whatever was asked; inheritable and ambient stay as given.
    const root = await bundle("grep -E '^Cap' /proc/self/status", (c) => {
      c.process.capabilities = { bounding: caps, effective: ["CAP_CHOWN"], permitted: caps, inheritable: ["CAP_KILL"], ambient: ["CAP_KILL"] };
    });
    expect((await runBundle(root)).stdout).toBe(`CapInh:\t${mask(5)}\nCapPrm:\t${mask(0, 5, 13)}\nCapEff:\t${mask(0, 5, 13)}\nCapBnd:\t${mask(0, 5, 13)}\nCapAmb:\t${mask(5)}\n`);
    // Another user has after its execve what is ambient (permitted and inheritable both), no more.
    const user = await bundle("grep -E '^Cap' /proc/self/status; kill -0 1 && echo may signal the init", (c) => {
      c.process.user = { uid: 1000, gid: 1000 };
      c.process.capabilities = { bounding: caps, effective: ["CAP_KILL"], permitted: ["CAP_KILL", "CAP_NET_RAW"], inheritable: ["CAP_KILL", "CAP_CHOWN"], ambient: ["CAP_KILL", "CAP_CHOWN"] };
    });
    const r = await runBundle(user);
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe(`CapInh:\t${mask(0, 5)}\nCapPrm:\t${mask(5)}\nCapEff:\t${mask(5)}\nCapBnd:\t${mask(0, 5, 13)}\nCapAmb:\t${mask(5)}\nmay signal the init\n`);
    // No sets but bounding: another user has nothing.
    const none = await bundle("grep -E '^Cap(Eff|Prm)' /proc/self/status", (c) => {
      c.process.user = { uid: 1000, gid: 1000 };
      c.process.capabilities = { bounding: caps };
    });
    expect((await runBundle(none)).stdout).toBe(`CapPrm:\t${mask()}\nCapEff:\t${mask()}\n`);
  });

  test("a capability this host does not let box have is refused, as the spec requires (where the host lacks one)", async () => {
    const bounding = BigInt(`0x${/^CapBnd:\s*([0-9a-f]+)$/m.exec(readFileSync("/proc/self/status", "utf8"))![1]}`);
    const last = Number(readFileSync("/proc/sys/kernel/cap_last_cap", "utf8"));
    const names = ["CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "KILL", "SETGID", "SETUID", "SETPCAP", "LINUX_IMMUTABLE", "NET_BIND_SERVICE", "NET_BROADCAST", "NET_ADMIN", "NET_RAW", "IPC_LOCK", "IPC_OWNER", "SYS_MODULE", "SYS_RAWIO", "SYS_CHROOT", "SYS_PTRACE", "SYS_PACCT", "SYS_ADMIN", "SYS_BOOT", "SYS_NICE", "SYS_RESOURCE"];
    const missing = names.findIndex((_, bit) => bit <= last && !((bounding >> BigInt(bit)) & 1n));
    // This machine's test process has every capability: nothing to refuse here.
    if (missing < 0) return;
    const dir = await bundle("true", (c) => (c.process.capabilities = { bounding: [`CAP_${names[missing]}`], permitted: [`CAP_${names[missing]}`] }));
    refused(await oci(["create", "--bundle", dir, "c1"]), `process.capabilities.bounding: CAP_${names[missing]} cannot be granted`);
  });

  test("properties box does not know are ignored, at any level, as the runtime spec requires", async () => {
    const dir = await bundle("echo ran", (c) => {
      c["org.example.future"] = { any: ["thing"] };
      c.process.color = "blue";
      c.process.user.extra = 1;
      c.linux.somethingNew = true;
      c.mounts[0].futureOption = "x";
      // A tmpfs's options on a bind mount: ignored, as runc's mount(2) with MS_BIND ignores them.
      c.mounts.push({ destination: "/bound", type: "bind", source: "/tmp", options: ["rbind", "mode=755", "size=1m"] });
      c.linux.resources = { ...c.linux.resources, newController: { limit: 1 } };
    });
    const r = await runBundle(dir);
    expect([r.stdout, r.stderr, r.code]).toEqual(["ran\n", "", 0]);
  });

  test("rlimits: without RLIMIT_NOFILE the process has its caller's limit on open files (box's own start raises its soft one)", async () => {
    const dir = await bundle("ulimit -n; ulimit -Hn", (c) => delete c.process.rlimits);
    const hard = readFileSync("/proc/self/limits", "utf8").match(/Max open files\s+\d+\s+(\d+)/)![1];
    const r = Bun.spawnSync(["sh", "-c", `ulimit -Sn 200 && "$@"`, "sh", ...BOX, "oci", "--root", ctx.s.root, "run", "--bundle", dir, "c1"]);
    expect(r.stdout.toString()).toBe(`200\n${hard}\n`);
    expect(r.exitCode).toBe(0);
  });

  test("root.readonly, hostname, mounts with their options, masked and read-only paths", async () => {
    const host = join(ctx.s.dir, "hostdir");
    mkdirSync(host);
    writeFileSync(join(host, "file"), "from-host\n");
    const dir = await bundle(
      [
        "hostname; cat /proc/sys/kernel/domainname",
        "touch /x 2>/dev/null && echo root-writable || echo root-ro",
        "cat /data/file; touch /data/new 2>/dev/null && echo data-writable || echo data-ro",
        "grep ' /scratch ' /proc/mounts",
        "touch /scratch/ok && echo scratch-writable",
        "cat /proc/interrupts 2>&1 | wc -c",
        "(echo 1 > /proc/sys/kernel/domainname) 2>/dev/null && echo sys-writable || echo sys-ro",
      ].join("; "),
      (c) => {
        c.root.readonly = true;
        c.hostname = "oci-box";
        c.domainname = "example.org";
        c.mounts.push({ destination: "/data", type: "bind", source: host, options: ["rbind", "ro"] });
        c.mounts.push({ destination: "/scratch", type: "tmpfs", source: "tmpfs", options: ["nosuid", "nodev", "size=1m", "mode=1770"] });
        c.linux.maskedPaths = ["/proc/interrupts"];
        c.linux.readonlyPaths = ["/proc/sys"];
      },
    );
    const r = await runBundle(dir);
    expect(r.stderr).toBe("");
    const lines = r.stdout.split("\n");
    expect(lines.slice(0, 5)).toEqual(["oci-box", "example.org", "root-ro", "from-host", "data-ro"]);
    expect(lines[5]).toMatch(/^tmpfs \/scratch tmpfs rw,nosuid,nodev,relatime,size=1024k,mode=1770/);
    expect(lines.slice(6)).toEqual(["scratch-writable", "0", "sys-ro", ""]);
    expect(readFileSync(join(host, "file"), "utf8")).toBe("from-host\n");
  });

  test("namespaces: a missing uts or network namespace is the host's; a path joins another container's", async () => {
    const hostName = readFileSync("/proc/sys/kernel/hostname", "utf8").trim();
    const shared = await bundle("hostname; readlink /proc/self/ns/net", (c) => {
      c.hostname = undefined;
      c.linux.namespaces = c.linux.namespaces.filter((n: Config) => n.type !== "uts" && n.type !== "network");
    });
    const r = await runBundle(shared);
    expect(r.stdout).toBe(`${hostName}\n${readlinkSync("/proc/self/ns/net")}\n`);

    ok(await oci(["run", "-d", "--bundle", await bundle("sleep 100"), "first"]));
    const firstPid = JSON.parse((await oci(["ps", "--format", "json", "first"])).stdout)[0];
    const joined = await bundle("readlink /proc/self/ns/net", (c) => {
      c.linux.namespaces = c.linux.namespaces.map((n: Config) => (n.type === "network" ? { type: "network", path: `/proc/${firstPid}/ns/net` } : n));
    });
    const j = await runBundle(joined, "second");
    expect(j.stdout).toBe(`${readlinkSync(`/proc/${firstPid}/ns/net`)}\n`);
    expect(j.stdout).not.toBe(`${readlinkSync("/proc/self/ns/net")}\n`);
    // A uts namespace joined by path is the container's to name (as runc): the other one sees it.
    const named = await bundle("hostname", (c) => {
      c.hostname = "pod-name";
      c.linux.namespaces = c.linux.namespaces.map((n: Config) => (n.type === "uts" ? { type: "uts", path: `/proc/${firstPid}/ns/uts` } : n));
    });
    expect((await runBundle(named, "third")).stdout).toBe("pod-name\n");
    expect((await oci(["exec", "first", "hostname"])).stdout).toBe("pod-name\n");
    ok(await oci(["delete", "-f", "first"]));
  });

  test("pid namespaces: one joined by path (a pod's shared one) holds both containers' processes; none listed is the caller's", async () => {
    ok(await oci(["run", "-d", "--bundle", await bundle("sleep 100"), "sandbox"]));
    const sandboxPid = (await state("sandbox")).pid;
    const joined = await bundle("echo $$; ps -o comm | grep -c sleep", (c) => {
      c.linux.namespaces = c.linux.namespaces.map((n: Config) => (n.type === "pid" ? { type: "pid", path: `/proc/${sandboxPid}/ns/pid` } : n));
    });
    const j = await runBundle(joined, "member");
    // Not PID 1 there (the sandbox's process is), and the sandbox's sleep is in sight.
    const [pid, sleeps] = j.stdout.trim().split("\n");
    expect([j.stderr, Number(pid) > 1, sleeps]).toEqual(["", true, "1"]);
    ok(await oci(["delete", "-f", "sandbox"]));
    // No pid namespace: the process sees the host's (its own pid is the one the host sees).
    const host = await bundle("echo $$; ls /proc | grep -c '^[0-9]'", (c) => {
      c.linux.namespaces = c.linux.namespaces.filter((n: Config) => n.type !== "pid");
    });
    const h = await runBundle(host, "hostpid");
    const [own, count] = h.stdout.trim().split("\n").map(Number);
    expect(own).toBeGreaterThan(1);
    expect(count).toBeGreaterThan(10);
  });

  test("runc's process model: the pid create gives is the process itself, PID 1 of the container, in its cgroup", async () => {
    const dir = await bundle("sleep 100", (c) => {
      c.process.user.umask = 0o027;
      c.linux.cgroupsPath = "/box-oci-model-c1";
    });
    const pidFile = join(ctx.s.dir, "model.pid");
    ok(await oci(["create", "--bundle", dir, "--pid-file", pidFile, "c1"]));
    const pid = Number(readFileSync(pidFile, "utf8"));
    // Created: already in the container's cgroup (containerd reads stats and OOM events from there).
    expect(readFileSync(`/proc/${pid}/cgroup`, "utf8")).toContain("/box-oci-model-c1");
    ok(await oci(["start", "c1"]));
    await eventually(() => readFileSync(`/proc/${pid}/cmdline`, "utf8").startsWith("sleep\0"));
    expect((await state("c1")).pid).toBe(pid);
    // Inside, /proc/1 is that process: its command and umask, not box's.
    const inside = await oci(["exec", "c1", "sh", "-c", "tr '\\0' ' ' < /proc/1/cmdline; grep Umask /proc/1/status"]);
    expect(inside.stdout).toBe("sleep 100 Umask:\t0027\n");
    ok(await oci(["kill", "c1", "KILL"]));
    await eventually(async () => (await state("c1")).status === "stopped");
    ok(await oci(["delete", "c1"]));
  });

  test("a user namespace with the bundle's maps: its rootfs used as it is, owned by the mapped ids (as runc)", async () => {
    // The rootfs as a runc user would prepare it: chowned to the range root maps to.
    const rootfs = join(ctx.s.dir, "userns-rootfs");
    Bun.spawnSync(["cp", "-a", copyRootfs(ctx.s), rootfs]);
    expect(Bun.spawnSync(["chown", "-hR", "100000:100000", rootfs]).exitCode).toBe(0);
    const dir = await bundle("id; cat /proc/self/uid_map; touch /made; ls -ln /made | awk '{print $3\":\"$4}'; stat -c %u /dev /dev/shm; sleep 100", (c) => {
      c.root.path = rootfs;
      c.linux.namespaces.push({ type: "user" });
      c.linux.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
      c.linux.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
    });
    const out = join(ctx.s.dir, "userns.out");
    const create = Bun.spawn([...BOX, "oci", "--root", ctx.s.root, "create", "--bundle", dir, "c1"], { stdout: Bun.file(out), stderr: Bun.file(out) });
    expect(await create.exited).toBe(0);
    // Created, the pid is already in the new user and cgroup namespaces (runtime-tools'
    // linux_ns_nopath looks right after create), with the bundle's maps.
    const created = (await state("c1")).pid;
    for (const ns of ["user", "cgroup"]) expect(readlinkSync(`/proc/${created}/ns/${ns}`)).not.toBe(readlinkSync(`/proc/self/ns/${ns}`));
    expect(readFileSync(`/proc/${created}/uid_map`, "utf8")).toBe("         0     100000      65536\n");
    ok(await oci(["start", "c1"]));
    await eventually(() => readFileSync(out, "utf8").split("\n").length >= 6);
    expect(readFileSync(out, "utf8").split("\n").slice(0, 5)).toEqual(["uid=0(root) gid=0(root)", "         0     100000      65536", "0:0", "0", "0"]);
    // From the host: the file is the range's root's.
    expect(Bun.spawnSync(["stat", "-c", "%u:%g", join(rootfs, "made")]).stdout.toString()).toBe("100000:100000\n");
    // exec joins the same user namespace.
    const exec = await oci(["exec", "c1", "cat", "/proc/self/uid_map"]);
    expect(exec.stdout).toBe("         0     100000      65536\n");
    // runc's process model here too: the pid is the process, the same as at create.
    const pid = (await state("c1")).pid;
    expect(pid).toBe(created);
    expect(readFileSync(`/proc/${pid}/cmdline`, "utf8")).toStartWith("sleep\0");
    for (const ns of ["user", "cgroup"]) expect(readlinkSync(`/proc/${pid}/ns/${ns}`)).not.toBe(readlinkSync(`/proc/self/ns/${ns}`));
    ok(await oci(["delete", "-f", "c1"]));
  });

  test("as runc takes them: a read-only /dev, /dev/ptmx among the devices, a namespace listed twice alike", async () => {
    const dir = await bundle("grep '^tmpfs /dev ' /proc/mounts | cut -d' ' -f4 | cut -d, -f1; ls -lLn /dev/ptmx | cut -c1-10; ls /dev/pts/ptmx /dev/null; touch /dev/x 2>&1 | grep -c 'Read-only'", (c) => {
      for (const m of c.mounts) if (m.destination === "/dev") m.options.push("ro");
      c.linux.devices = [{ path: "/dev/ptmx", type: "c", major: 5, minor: 2 }];
      c.linux.namespaces.push({ type: "cgroup" }, { type: "cgroup" });
    });
    const r = await runBundle(dir);
    expect([r.code, r.stdout, r.stderr]).toEqual([0, "ro\ncrw-rw-rw-\n/dev/null\n/dev/pts/ptmx\n1\n", ""]);
    // Twice but differently is a contradiction.
    const both = await bundle("true", (c) => c.linux.namespaces.push({ type: "uts" }, { type: "uts", path: "/proc/self/ns/uts" }));
    refused(await oci(["create", "--bundle", both, "c1"]), 'namespace "uts" is listed twice, differently');
  });

  test("a seccomp profile is compiled once per --root: kept by its digest and used again, a different one kept beside it, a refused one never", async () => {
    const cache = join(ctx.s.root, "seccomp");
    const profile = (errno: number) => (c: Config) => {
      c.linux.seccomp = { defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ names: ["mkdir", "mkdirat"], action: "SCMP_ACT_ERRNO", errnoRet: errno }] };
    };
    const denied = await bundle("mkdir /tmp/d 2>&1", profile(13));
    for (const id of ["c1", "c2"]) expect((await runBundle(denied, id)).stdout).toContain("Permission denied");
    expect(readdirSync(cache)).toHaveLength(1);
    // The kept filter is what the next create loads: changed on disk, the change shows inside.
    const [kept] = readdirSync(cache);
    const other = await bundle("mkdir /tmp/d 2>&1", profile(30));
    expect((await runBundle(other, "c3")).stdout).toContain("Read-only file system");
    expect(readdirSync(cache)).toHaveLength(2);
    const otherFile = readdirSync(cache).find((f) => f !== kept)!;
    writeFileSync(join(cache, kept!), readFileSync(join(cache, otherFile)));
    expect((await runBundle(denied, "c4")).stdout).toContain("Read-only file system");
    refused(await oci(["create", "--bundle", await bundle("true", (c) => (c.linux.seccomp = { defaultAction: "SCMP_ACT_NOPE" })), "c5"]), "linux.seccomp");
    expect(readdirSync(cache)).toHaveLength(2);
  });

  test("linux: sysctl, devices, seccomp in the spec's format (errnoRet, args)", async () => {
    const dir = await bundle("cat /proc/sys/net/ipv4/ip_forward; ls -l /dev/myfull | cut -c1-10; mkdir /tmp/d 2>&1; chmod 700 /tmp 2>&1 && echo chmod-ok; chmod 0777 /tmp 2>&1; ls -l /dev/myfifo | cut -c1-10", (c) => {
      c.linux.sysctl = { "net.ipv4.ip_forward": "1" };
      c.linux.devices = [{ path: "/dev/myfull", type: "c", major: 1, minor: 7, fileMode: 0o640 }, { path: "/dev/myfifo", type: "p", fileMode: 0o600 }];
      c.linux.seccomp = {
        defaultAction: "SCMP_ACT_ALLOW",
        // Other machines' too, as Docker's profiles list them: ignored (runc's libseccomp ignores them here).
        architectures: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"],
        syscalls: [
          { names: ["mkdir", "mkdirat"], action: "SCMP_ACT_ERRNO", errnoRet: 13 },
          { names: ["chmod", "fchmodat"], action: "SCMP_ACT_ERRNO", args: [{ index: 1, value: 0o777, op: "SCMP_CMP_EQ" }] },
        ],
      };
    });
    const r = await runBundle(dir);
    expect(r.stderr).toBe("");
    const lines = r.stdout.split("\n");
    expect(lines[0]).toBe("1");
    expect(lines[1]).toBe("crw-r-----");
    expect(lines[2]).toContain("Permission denied");
    expect(lines[3]).toBe("chmod-ok");
    expect(lines[4]).toContain("Operation not permitted");
    expect(lines[5]).toBe("prw-------");
    // The host's own setting is untouched.
    expect(readFileSync("/proc/sys/net/ipv4/ip_forward", "utf8")).toBeDefined();
  });

  test("limits some hosts have are applied where this one has them and ignored where not, as runc; so are SELinux labels with SELinux off", async () => {
    const cgroupName = `box-oci-extra-${process.pid}`;
    const v2 = existsSync("/sys/fs/cgroup/cgroup.controllers");
    const dir = await bundle("sleep 100", (c) => {
      c.linux.cgroupsPath = `/${cgroupName}/c1`;
      c.linux.mountLabel = "system_u:object_r:container_file_t:s0";
      c.process.selinuxLabel = "system_u:system_r:container_t:s0";
      c.linux.resources = {
        memory: { limit: 64 << 20, kernel: 32 << 20, kernelTCP: 8 << 20, swappiness: 10 },
        cpu: { quota: 50000, period: 100000, burst: 1000, idle: 1 },
        hugepageLimits: [{ pageSize: "2MB", limit: 4 << 20 }],
        network: { classID: 0x100001, priorities: [{ name: "lo", priority: 5 }] },
        blockIO: { leafWeight: 300 },
        ...(v2 ? { unified: { "memory.high": String(48 << 20) } } : {}),
      };
    });
    ok(await oci(["run", "-d", "--bundle", dir, "c1"]));
    const path = (ctl: string, file: string) => (v2 ? `/sys/fs/cgroup/${cgroupName}/c1/${file}` : `/sys/fs/cgroup/${ctl}/${cgroupName}/c1/${file}`);
    // Where this kernel has the file, the bundle's value is in it.
    const where = (ctl: string, file: string) => (existsSync(path(ctl, file)) ? readFileSync(path(ctl, file), "utf8").trim() : "absent");
    try {
      const seen = v2
        ? [where("", "cpu.max.burst"), where("", "cpu.idle"), where("", "hugetlb.2MB.max"), where("", "memory.high")]
        : [where("cpu", "cpu.cfs_burst_us"), where("cpu", "cpu.idle"), where("hugetlb", "hugetlb.2MB.limit_in_bytes"), where("memory", "memory.swappiness"), where("net_cls", "net_cls.classid")];
      const expected = v2 ? ["1000", "1", String(4 << 20), String(48 << 20)] : ["1000", "1", String(4 << 20), "10", String(0x100001)];
      expect(seen).toEqual(expected.map((e, i) => (seen[i] === "absent" ? "absent" : e)));
      // At least the cpu controller's are there on every host this runs on.
      expect(seen[0]).not.toBe("absent");
    } finally {
      ok(await oci(["delete", "-f", "c1"]));
      removeParentCgroup(cgroupName);
    }
    // v1 has no unified hierarchy to write: refused there, as runc refuses it.
    if (!v2) {
      const bad = await bundle("true", (c) => (c.linux.resources = { unified: { "memory.high": "1000000" } }));
      refused(await oci(["create", "--bundle", bad, "c2"]), "linux.resources.unified needs cgroup v2");
    }
  });

  test("cgroupsPath under a parent another runtime made (v1 cpuset without cpus, v2 without controllers enabled), and an existing container cgroup, joined as runc joins them", async () => {
    const parent = `box-oci-others-${process.pid}`;
    const v2 = existsSync("/sys/fs/cgroup/cgroup.controllers");
    const roots = v2 ? ["/sys/fs/cgroup"] : readdirSync("/sys/fs/cgroup").map((c) => `/sys/fs/cgroup/${c}`).filter((d) => existsSync(`${d}/cgroup.procs`));
    // As dockerd after runc leaves it: the parent in every hierarchy, with nothing copied down
    // (clone_children 0) or enabled; the container's own cgroup made ahead in one of them.
    for (const r of roots) mkdirSync(`${r}/${parent}`);
    mkdirSync(`${roots[0]}/${parent}/c1`);
    try {
      if (!v2) expect(readFileSync(`/sys/fs/cgroup/cpuset/${parent}/cpuset.cpus`, "utf8").trim()).toBe("");
      const dir = await bundle("cat /proc/self/cgroup; sleep 100", (c) => {
        c.linux.cgroupsPath = `/${parent}/c1`;
        c.linux.resources = { memory: { limit: 64 << 20 }, pids: { limit: 40 } };
      });
      ok(await oci(["run", "-d", "--bundle", dir, "c1"]));
      const pid = JSON.parse((await oci(["ps", "--format", "json", "c1"])).stdout)[0];
      const cgroups = readFileSync(`/proc/${pid}/cgroup`, "utf8").trim().split("\n");
      expect(cgroups.filter((l) => l.endsWith(`/${parent}/c1`)).length).toBe(roots.length);
      expect(readFileSync(v2 ? `/sys/fs/cgroup/${parent}/c1/pids.max` : `/sys/fs/cgroup/pids/${parent}/c1/pids.max`, "utf8").trim()).toBe("40");
      if (!v2) expect(readFileSync(`/sys/fs/cgroup/cpuset/${parent}/c1/cpuset.cpus`, "utf8").trim()).toBe(readFileSync("/sys/fs/cgroup/cpuset/cpuset.cpus", "utf8").trim());
      // A second container in the same cgroup: created, with runc's warning that it is not empty.
      const second = await oci(["create", "--bundle", dir, "c2"]);
      expect([second.code, second.stderr]).toEqual([0, "box: warning: container's cgroup is not empty: 1 process(es) found\n"]);
      ok(await oci(["delete", "-f", "c2"]));
      ok(await oci(["delete", "-f", "c1"]));
      // delete removes the container's cgroup, the one made ahead too (as runc); the parent stays.
      for (const r of roots) expect([existsSync(`${r}/${parent}/c1`), existsSync(`${r}/${parent}`)]).toEqual([false, true]);
    } finally {
      for (const r of roots) {
        if (existsSync(`${r}/${parent}/c1`)) rmdirSync(`${r}/${parent}/c1`);
        rmdirSync(`${r}/${parent}`);
      }
    }
  });

  test("a cgroupsPath someone froze, itself or through its parent, is refused at once (runc's check), not hung in", async () => {
    const parent = `box-oci-frozen-${process.pid}`;
    const v2 = existsSync("/sys/fs/cgroup/cgroup.controllers");
    const base = v2 ? "/sys/fs/cgroup" : "/sys/fs/cgroup/freezer";
    if (!existsSync(base)) return; // no freezer: nothing can be frozen
    const freeze = (dir: string, on: boolean) => writeFileSync(join(dir, v2 ? "cgroup.freeze" : "freezer.state"), v2 ? (on ? "1" : "0") : on ? "FROZEN" : "THAWED");
    mkdirSync(`${base}/${parent}/c1`, { recursive: true });
    try {
      freeze(`${base}/${parent}/c1`, true);
      const dir = await bundle("true", (c) => (c.linux.cgroupsPath = `/${parent}/c1`));
      refused(await oci(["create", "--bundle", dir, "c1"]), "container's cgroup unexpectedly frozen");
      freeze(`${base}/${parent}/c1`, false);
      freeze(`${base}/${parent}`, true);
      const under = await bundle("true", (c) => (c.linux.cgroupsPath = `/${parent}/c2`));
      refused(await oci(["run", "--bundle", under, "c2"]), "container's cgroup unexpectedly frozen");
    } finally {
      freeze(`${base}/${parent}`, false);
      rmdirSync(`${base}/${parent}/c1`);
      removeParentCgroup(parent);
    }
  });

  test("events: stats every interval, and an oom event when the OOM killer takes one of the container's processes", async () => {
    const dir = await bundle("sleep 0.5; tail /dev/zero; sleep 100", (c) => (c.linux.resources = { memory: { limit: 16 << 20, swap: 16 << 20 } }));
    ok(await oci(["run", "-d", "--bundle", dir, "c1"]));
    const events = Bun.spawn([...BOX, "oci", "--root", ctx.s.root, "events", "--interval", "1s", "c1"], { stdout: "pipe", stderr: "pipe" });
    try {
      const seen = await readUntil(events.stdout.getReader(), '"oom"', 10000);
      const lines = seen.split("\n").filter((l) => l.endsWith("}")).map((l) => JSON.parse(l));
      expect(lines[0]).toMatchObject({ type: "stats", id: "c1" });
      expect(lines).toContainEqual({ type: "oom", id: "c1" });
    } finally {
      events.kill();
      await events.exited;
      ok(await oci(["delete", "-f", "c1"]));
    }
  });

  test("resources and cgroupsPath: limits in the cgroup the bundle names, removed at delete", async () => {
    const cgroupName = `box-oci-test-${process.pid}`;
    const dir = await bundle("sleep 100", (c) => {
      c.linux.cgroupsPath = `/${cgroupName}/c1`;
      c.linux.resources = {
        devices: [{ allow: false, access: "rwm" }, { allow: true, type: "c", major: 1, minor: 3, access: "rwm" }],
        memory: { limit: 64 * 1024 * 1024 },
        pids: { limit: 50 },
        cpu: { shares: 512, quota: 50000, period: 100000 },
      };
    });
    ok(await oci(["run", "-d", "--bundle", dir, "c1"]));
    const v2 = existsSync("/sys/fs/cgroup/cgroup.controllers");
    const read = (ctl: string, file: string) => readFileSync(v2 ? `/sys/fs/cgroup/${cgroupName}/c1/${file}` : `/sys/fs/cgroup/${ctl}/${cgroupName}/c1/${file}`, "utf8").trim();
    try {
      if (v2) {
        expect(read("", "memory.max")).toBe(String(64 * 1024 * 1024));
        expect(read("", "pids.max")).toBe("50");
        expect(read("", "cpu.max")).toBe("50000 100000");
      } else {
        expect(read("memory", "memory.limit_in_bytes")).toBe(String(64 * 1024 * 1024));
        expect(read("pids", "pids.max")).toBe("50");
        expect(read("cpu", "cpu.shares")).toBe("512");
        // The bundle's rules (deny all, allow /dev/null), then the nodes of every container's /dev, as runc adds them.
        const devices = read("devices", "devices.list").split("\n");
        expect(devices[0]).toBe("c 1:3 rwm");
        expect(devices).not.toContain("a *:* rwm");
        expect(devices).toContain("c 136:* rwm");
      }
      const pid = JSON.parse((await oci(["ps", "--format", "json", "c1"])).stdout)[0];
      expect(readFileSync(`/proc/${pid}/cgroup`, "utf8")).toContain(`/${cgroupName}/c1`);
      // update (containerd's `update --resources -`), then events --stats reads the new limit.
      ok(await oci(["update", "--resources", "-", "c1"], { stdin: JSON.stringify({ memory: { limit: 128 * 1024 * 1024 }, pids: { limit: 70 } }) }));
      expect(read("memory", v2 ? "memory.max" : "memory.limit_in_bytes")).toBe(String(128 * 1024 * 1024));
      expect(read("pids", "pids.max")).toBe("70");
      // Field names in any case, as runc's Go JSON reads them.
      ok(await oci(["update", "-r", "-", "c1"], { stdin: JSON.stringify({ PIDS: { Limit: 71 } }) }));
      expect(read("pids", "pids.max")).toBe("71");
      ok(await oci(["update", "-r", "-", "c1"], { stdin: JSON.stringify({ pids: { limit: 70 } }) }));
      const events = await oci(["events", "--stats", "c1"]);
      ok(events);
      const stats = JSON.parse(events.stdout);
      expect(stats).toMatchObject({ type: "stats", id: "c1", data: { memory: { usage: { limit: 128 * 1024 * 1024 } }, pids: { current: 1 } } });
      expect(stats.data.memory.usage.usage).toBeGreaterThan(0);
      refused2(await oci(["update", "--resources", "-", "c1"], { stdin: JSON.stringify({ devices: [{ allow: true, access: "rwm" }] }) }), "devices cannot be changed");
      ok(await oci(["delete", "-f", "c1"]));
      expect(existsSync(v2 ? `/sys/fs/cgroup/${cgroupName}/c1` : `/sys/fs/cgroup/memory/${cgroupName}/c1`)).toBe(false);
    } finally {
      removeParentCgroup(cgroupName);
    }
  });

  test("hooks of create run before pivot_root, as runc's: createRuntime, in box oci's namespaces, mounts into the rootfs by its path through the process's mount namespace (NVIDIA's toolkit does so); createContainer runs in the container's, in the rootfs", async () => {
    const lib = join(ctx.s.dir, "lib.so");
    writeFileSync(lib, "from the host\n");
    const dir = await bundle("cat /hooked/runtime.so /hooked/container.so; ls /hooked", (c) => {
      c.hooks = {
        // The pid and the bundle from the state on stdin; the rootfs is the bundle's, at its path.
        createRuntime: [{ path: "/bin/sh", args: ["sh", "-c", String.raw`set -e; s=$(cat); pid=$(echo "$s" | sed 's/.*"pid":\([0-9]*\).*/\1/'); b=$(echo "$s" | sed 's/.*"bundle":"\([^"]*\)".*/\1/'); d=$b/rootfs/hooked; mkdir -p $d; touch $d/runtime.so; nsenter -m -t $pid mount --bind ${lib} $d/runtime.so`] }],
        createContainer: [{ path: "/bin/sh", args: ["sh", "-c", `set -e; touch ./hooked/container.so; mount --bind ${lib} ./hooked/container.so; test "$(readlink /proc/self/ns/mnt)" != "${readlinkSync("/proc/self/ns/mnt")}"`] }],
      };
    });
    const r = await runBundle(dir);
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe("from the host\nfrom the host\ncontainer.so\nruntime.so\n");
    // Neither mount reached the host: the files in the rootfs are the empty ones the hooks made.
    expect(readFileSync(join(copyRootfs(ctx.s), "hooked", "runtime.so"), "utf8")).toBe("");
    expect(readFileSync(join(copyRootfs(ctx.s), "hooked", "container.so"), "utf8")).toBe("");
  });

  test("hooks: state on stdin, in the spec's order, before and after the process; a failing hook fails create and leaves nothing", async () => {
    const log = join(ctx.s.dir, "hooks.log");
    const hook = (name: string) => ({ path: "/bin/sh", args: ["sh", "-c", `echo "${name} $(cat)" >> ${log}`, name], env: ["X=1"] });
    const out = join(ctx.s.dir, "out");
    mkdirSync(out);
    const dir = await bundle(`echo process >> /out/hooks.log`, (c) => {
      c.mounts.push({ destination: "/out", type: "bind", source: ctx.s.dir, options: ["bind"] });
      c.hooks = {
        prestart: [hook("prestart")],
        createRuntime: [hook("createRuntime")],
        createContainer: [hook("createContainer")],
        // In the container: its /out is the host's directory of the log.
        startContainer: [{ path: "/bin/sh", args: ["sh", "-c", 'echo "startContainer $(cat) $(hostname)" >> /out/hooks.log'] }],
        poststart: [hook("poststart")],
        poststop: [hook("poststop")],
      };
      c.hostname = "inside";
    });
    ok(await oci(["create", "--bundle", dir, "c1"]));
    const pid = (await state("c1")).pid;
    const lines = () => readFileSync(log, "utf8").split("\n").filter(Boolean);
    expect(lines().map((l) => l.split(" ")[0])).toEqual(["prestart", "createRuntime", "createContainer"]);
    const hookState = JSON.parse(lines()[0]!.slice("prestart ".length));
    expect(hookState).toMatchObject({ ociVersion: "1.2.0", id: "c1", pid, bundle: dir });
    ok(await oci(["start", "c1"]));
    await eventually(() => lines().length >= 6);
    // startContainer: after start, before the process, in the container (its hostname).
    expect(lines()[3]!.split(" ")[0]).toBe("startContainer");
    expect(lines()[3]!.endsWith(" inside")).toBe(true);
    expect(JSON.parse(lines()[3]!.slice("startContainer ".length, -" inside".length))).toMatchObject({ id: "c1", pid, status: "created" });
    expect(lines().slice(4).map((l) => l.split(" ")[0]).sort()).toEqual(["poststart", "process"]);
    await eventually(async () => (await state("c1")).status === "stopped");
    ok(await oci(["delete", "c1"]));
    expect(lines().at(-1)!.split(" ")[0]).toBe("poststop");
    expect(JSON.parse(lines().at(-1)!.slice("poststop ".length)).status).toBe("stopped");

    const failing = await bundle("true", (c) => {
      c.hooks = { prestart: [{ path: "/bin/sh", args: ["sh", "-c", "echo no network for you >&2; exit 3"] }] };
    });
    refused(await oci(["create", "--bundle", failing, "c2"]), "error running hook: prestart /bin/sh exited with status 3: no network for you");
    const out2 = join(ctx.s.dir, "out2");
    mkdirSync(out2);
    // A startContainer hook is confined as the process: its user (here not root).
    const confinedHook = await bundle("true", (c) => {
      c.mounts.push({ destination: "/out2", type: "bind", source: out2, options: ["bind"] });
      c.process.user = { uid: 1000, gid: 1000 };
      c.hooks = { startContainer: [{ path: "/bin/sh", args: ["sh", "-c", "id -u > /out2/hook-uid"] }] };
    });
    chmodSync(out2, 0o777);
    ok(await oci(["run", "--bundle", confinedHook, "c5"]));
    expect(readFileSync(join(out2, "hook-uid"), "utf8")).toBe("1000\n");
    const failingInside = await bundle("touch /out2/process-ran", (c) => {
      c.mounts.push({ destination: "/out2", type: "bind", source: out2, options: ["bind"] });
      c.hooks = { startContainer: [{ path: "/bin/false" }] };
    });
    ok(await oci(["create", "--bundle", failingInside, "c4"]));
    ok(await oci(["start", "c4"]));
    await eventually(async () => (await state("c4")).status === "stopped");
    expect(existsSync(join(out2, "process-ran"))).toBe(false);
    ok(await oci(["delete", "c4"]));
    // A startContainer hook has the process's seccomp filter: one it kills says so, as runc says it.
    const killedHook = await bundle("true", (c) => {
      c.linux.seccomp = { defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ names: ["mkdir", "mkdirat"], action: "SCMP_ACT_KILL" }] };
      c.hooks = { startContainer: [{ path: "/bin/sh", args: ["sh", "-c", "mkdir /tmp/no"] }] };
    });
    const killed = await oci(["run", "--bundle", killedHook, "c6"]);
    expect([killed.code, killed.stderr]).toEqual([125, "box: error running hook: startContainer /bin/sh killed by SIGSYS: bad system call\n"]);
    await oci(["delete", "-f", "c6"]);
    const slow = await bundle("true", (c) => {
      c.hooks = { createRuntime: [{ path: "/bin/sleep", args: ["sleep", "30"], timeout: 1 }] };
    });
    refused(await oci(["create", "--bundle", slow, "c3"]), "createRuntime hook /bin/sleep did not finish within its timeout of 1 s");
  });
});

describe("what box refuses: one line naming the field, exit 125, nothing left", () => {
  const cases: [string, (c: Config) => void, string][] = [
    ["a user namespace without maps", (c) => c.linux.namespaces.push({ type: "user" }), "a user namespace needs linux.uidMappings and linux.gidMappings"],
    ["maps without a user namespace", (c) => (c.linux.uidMappings = [{ containerID: 0, hostID: 1000, size: 1 }]), "maps need a user namespace"],
    ["overlapping maps", (c) => (c.linux.namespaces.push({ type: "user" }), (c.linux.uidMappings = [{ containerID: 0, hostID: 1000, size: 10 }, { containerID: 5, hostID: 5000, size: 10 }]), (c.linux.gidMappings = [{ containerID: 0, hostID: 1000, size: 1 }])), "ranges overlap"],
    ["joining a user namespace by path", (c) => c.linux.namespaces.push({ type: "user", path: "/proc/1/ns/user" }), "joining an existing user namespace"],
    ["Intel RDT", (c) => (c.linux.intelRdt = { closID: "x" }), "linux.intelRdt: Intel RDT is not supported by box"],
    ["no mount namespace", (c) => (c.linux.namespaces = c.linux.namespaces.filter((n: Config) => n.type !== "mount")), 'add {"type":"mount"}'],
    ["a systemd cgroup path", (c) => (c.linux.cgroupsPath = "system.slice:docker:abc"), "is a systemd slice path"],
    ["a cgroup path with ..", (c) => (c.linux.cgroupsPath = "/../../etc"), "is not a usable cgroup path"],
    ["a seccomp architecture that is no name", (c) => (c.linux.seccomp = { defaultAction: "SCMP_ACT_ALLOW", architectures: ["aarch64"] }), "linux.seccomp.architectures"],
    ["SCMP_ACT_NOTIFY without a seccomp agent", (c) => (c.linux.seccomp = { defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ names: ["mkdir"], action: "SCMP_ACT_NOTIFY" }] }), "linux.seccomp.listenerPath: is needed"],
    ["SCMP_ACT_NOTIFY as the default action", (c) => (c.linux.seccomp = { defaultAction: "SCMP_ACT_NOTIFY", listenerPath: "/run/x.sock" }), "SCMP_ACT_NOTIFY cannot be the default action"],
    ["SCMP_ACT_NOTIFY for sendmsg (the listener goes to the agent with it)", (c) => (c.linux.seccomp = { defaultAction: "SCMP_ACT_ALLOW", listenerPath: "/run/x.sock", syscalls: [{ names: ["sendmsg"], action: "SCMP_ACT_NOTIFY" }] }), "SCMP_ACT_NOTIFY cannot be used for sendmsg"],
    ["a seccomp agent that is not listening", (c) => (c.linux.seccomp = { defaultAction: "SCMP_ACT_ALLOW", listenerPath: "/run/box-test-nobody.sock", syscalls: [{ names: ["mkdir"], action: "SCMP_ACT_NOTIFY" }] }), "failed to connect with seccomp agent specified in the seccomp profile (linux.seccomp.listenerPath): connect /run/box-test-nobody.sock: ENOENT"],
    ["a seccomp flag box does not know", (c) => (c.linux.seccomp = { defaultAction: "SCMP_ACT_ALLOW", flags: ["SECCOMP_FILTER_FLAG_NEW_LISTENER"] }), "linux.seccomp.flags[0]"],
    ["an idmapped mount", (c) => c.mounts.push({ destination: "/x", type: "bind", source: "/tmp", options: ["rbind", "idmap"] }), '"idmap" is not supported by box'],
    ["a relative destination", (c) => c.mounts.push({ destination: "x", type: "tmpfs", source: "tmpfs" }), "mounts[7].destination"],
    ["no proc mount at /proc (box's init reaches its state through it)", (c) => (c.mounts = c.mounts.filter((m: Config) => m.destination !== "/proc")), "box needs a proc mount at /proc"],
    ["a mount over /proc", (c) => c.mounts.push({ destination: "/proc/self", type: "tmpfs", source: "tmpfs" }), "cannot mount over /proc"],
    ["runtime-spec 2", (c) => (c.ociVersion = "2.0.0"), "box reads runtime-spec 1.0 to 1.2"],
    ["an IPC sysctl with the caller's ipc namespace", (c) => ((c.linux.namespaces = c.linux.namespaces.filter((n: Config) => n.type !== "ipc")), (c.linux.sysctl = { "kernel.shmmax": "1000000" })), "an IPC sysctl needs a new ipc namespace"],
    ["a network sysctl in a joined network namespace", (c) => ((c.linux.namespaces = c.linux.namespaces.map((n: Config) => (n.type === "network" ? { type: "network", path: "/proc/1/ns/net" } : n))), (c.linux.sysctl = { "net.ipv4.ip_forward": "1" })), "not allowed with --network host"],
    ["a hostname without a uts namespace", (c) => (c.linux.namespaces = c.linux.namespaces.filter((n: Config) => n.type !== "uts")), "hostname: needs a uts namespace of the container's"],
    ["a 32-bit personality", (c) => (c.linux.personality = { domain: "LINUX32" }), "linux.personality.domain"],
    ["a missing root", (c) => (c.root.path = "nowhere"), "root.path: "],
    ["a terminal without a console socket", (c) => (c.process.terminal = true), "process.terminal needs --console-socket for create"],
  ];
  for (const [what, edit, message] of cases) {
    test(what, async () => {
      const dir = await bundle("true", edit);
      refused(await oci(["create", "--bundle", dir, "c1"]), message);
    });
  }

  test("a bundle's own /dev/null that is not the null device is not used to mask paths (CVE-2025-31133)", async () => {
    const rootfs = join(ctx.s.dir, "devnull-rootfs");
    Bun.spawnSync(["cp", "-a", copyRootfs(ctx.s), rootfs]);
    mkdirSync(join(rootfs, "dev"), { recursive: true });
    symlinkSync("/proc/sys/kernel/core_pattern", join(rootfs, "dev", "null"));
    const dir = await bundle("true", (c) => {
      c.root.path = rootfs;
      // No tmpfs over /dev: the rootfs's own is used.
      c.mounts = c.mounts.filter((m: Config) => !m.destination.startsWith("/dev"));
      c.linux.maskedPaths = ["/proc/interrupts"];
    });
    refused(await oci(["create", "--bundle", dir, "c1"]), "/dev/null in the container is not the null device");
  });

  test("a mount destination through a symlink of the rootfs stays inside it", async () => {
    const dir = await bundle("ls /etc | wc -l; cat /etc/passwd >/dev/null 2>&1 && echo passwd-visible || echo passwd-hidden");
    // An absolute link: on the host it would name the host's /etc.
    symlinkSync("/etc", join(copyRootfs(ctx.s), "evil"));
    const config = JSON.parse(readFileSync(join(dir, "config.json"), "utf8")) as Config;
    config.mounts.push({ destination: "/evil", type: "tmpfs", source: "tmpfs", options: ["size=1m"] });
    writeFileSync(join(dir, "config.json"), JSON.stringify(config));
    const r = await runBundle(dir);
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe("0\npasswd-hidden\n");
    expect(readFileSync("/etc/passwd", "utf8")).toContain("root:");
  });

  test("a rootfs whose proc or sys is a symlink is refused (as runc): masks would miss the real /proc", async () => {
    for (const name of ["proc", "sys"]) {
      const rootfs = join(ctx.s.dir, `${name}-link-rootfs`);
      Bun.spawnSync(["cp", "-a", copyRootfs(ctx.s), rootfs]);
      Bun.spawnSync(["rm", "-rf", join(rootfs, name)]);
      mkdirSync(join(rootfs, "elsewhere"), { recursive: true });
      symlinkSync("/elsewhere", join(rootfs, name));
      const dir = await bundle("true", (c) => {
        c.root.path = rootfs;
      });
      refused(await oci(["create", "--bundle", dir, "c1"]), `must be mounted on ordinary directory: /${name}`);
    }
  });

  test("process.cwd through /proc/PID/fd is refused; a cwd linked there reaches no descriptor of box's", async () => {
    const dir = await bundle("pwd", (c) => {
      c.process.cwd = "/proc/self/fd/5";
    });
    refused(await oci(["create", "--bundle", dir, "c1"]), "process.cwd");
    ok(await oci(["run", "-d", "--bundle", await bundle("sleep 30"), "running"]));
    refused2(await oci(["exec", "--cwd", "/proc/self/fd/5", "running", "pwd"]), "exec.cwd");
    ok(await oci(["delete", "-f", "running"]));
    writeFileSync(join(ctx.s.dir, "secret"), "host-secret\n");
    for (let fd = 3; fd <= 24; fd++) {
      const linked = await bundle("cat ../secret ../../secret 2>/dev/null; pwd", (c) => {
        c.process.cwd = `/w${fd}`;
      });
      symlinkSync(`/proc/self/fd/${fd}`, join(copyRootfs(ctx.s), `w${fd}`));
      const r = await runBundle(linked, `c${fd}`);
      expect(r.stdout).not.toContain("host-secret");
      expect(r.code).not.toBe(0);
      await oci(["delete", "-f", `c${fd}`]);
    }
  });

  test("a program the rootfs does not have: create fails with 127, as run does, and leaves no container", async () => {
    const dir = await bundle("true", (c) => (c.process.args = ["/no/such/program"]));
    const r = await oci(["create", "--bundle", dir, "c1"]);
    expect(r.code).toBe(127);
    expect(r.stderr).toBe('box: exec: "/no/such/program": stat /no/such/program: no such file or directory\n');
    expect(readdirSync(join(ctx.s.root, "containers"))).toEqual([]);
    expect((await runBundle(dir)).code).toBe(127);
  });

  test("bad ids, a duplicate id, unknown verbs and flags", async () => {
    const dir = await bundle("sleep 100");
    refused(await oci(["create", "--bundle", dir, "a/b"]), 'invalid container id "a/b"');
    refused(await oci(["create", "--bundle", dir, ".."]), 'invalid container id ".."');
    refused(await oci(["frob"]), 'unknown command "frob" for "box oci"');
    refused(await oci(["--systemd-cgroup", "state", "x"]), "--systemd-cgroup: box manages cgroups through cgroupfs only");
    refused(await oci(["create", "--bundle", dir, "--preserve-fds", "many", "c1"]), 'invalid --preserve-fds "many"');
    refused(await oci(["create", "--bundle", join(ctx.s.dir, "none"), "c1"]), "config.json: no such file");
    ok(await oci(["create", "--bundle", dir, "c1"]));
    refused2(await oci(["create", "--bundle", dir, "c1"]), "container with id c1 already exists");
    ok(await oci(["delete", "-f", "c1"]));
  });

  test("--log --log-format json: the error is the log's last line, as containerd's shim reads it", async () => {
    const log = join(ctx.s.dir, "log.json");
    const dir = await bundle("true", (c) => (c.linux.intelRdt = { closID: "x" }));
    const r = await oci(["--log", log, "--log-format", "json", "create", "--bundle", dir, "c1"]);
    expect(r.code).toBe(125);
    const last = JSON.parse(readFileSync(log, "utf8").trim().split("\n").at(-1)!);
    expect(last.level).toBe("error");
    expect(last.msg).toContain("Intel RDT is not supported by box");
    expect(Number.isNaN(Date.parse(last.time))).toBe(false);
  });
});

describe("clients", () => {
  test("named runc through a link, box speaks runc's command line", async () => {
    const link = join(ctx.s.dir, "runc");
    symlinkSync(BOX[0]!.endsWith("box") ? BOX[0]! : "/nonexistent", link);
    if (!BOX[0]!.endsWith("box")) return; // the source tree runs through bun: no executable to link
    const version = Bun.spawnSync([link, "--version"]).stdout.toString();
    expect(version).toMatch(/^runc version .+\ncommit: box .+\nspec: 1\.2\.0\n$/);
    const dir = await bundle("echo via-runc");
    const r = await oci(["run", "--bundle", dir, "c1"], { argv0: [link] });
    expect(r.stdout).toBe("via-runc\n");
    expect(r.code).toBe(0);
    // runc's status for its own errors: 1 (box oci's is 125).
    const missing = await oci(["state", "nosuch"], { argv0: [link] });
    expect([missing.code, missing.stderr.trim()]).toEqual([1, "box: container nosuch does not exist"]);
    // exec's: 255, which no process's own status can be mistaken for.
    const exec = await oci(["exec", "nosuch", "true"], { argv0: [link] });
    expect([exec.code, exec.stderr.trim()]).toEqual([255, "box: container nosuch does not exist"]);
    // Help in runc's layout, which scripts read by line; runc's CRIU verbs are refused by name.
    const lines = async (args: string[]) => (await oci(args, { argv0: [link] })).stdout.split("\n");
    expect((await lines(["-h"])).slice(0, 2)).toEqual(["NAME:", expect.stringMatching(/^ {3}runc - Open Container Initiative runtime/)]);
    expect((await lines(["list", "--help"])).slice(0, 2)).toEqual(["NAME:", "   runc list - List the containers"]);
    expect((await lines(["checkpoint", "-h"]))[1]).toStartWith("   runc checkpoint - ");
    const criu = await oci(["checkpoint", "c1"], { argv0: [link] });
    expect([criu.code, criu.stderr]).toEqual([1, "box: checkpoint: box cannot checkpoint a container (runc does it with CRIU, which box does not use)\n"]);
    const unknown = await oci(["foo", "-h"], { argv0: [link] });
    expect([unknown.code, unknown.stderr]).toEqual([1, "box: No help topic for 'foo'\n"]);
  });

  test("--debug: each step as a level=debug line, to --log's file in its format, else to stderr", async () => {
    const dir = await bundle("true");
    const log = join(ctx.s.dir, "debug.log");
    ok(await oci(["--debug", "--log", log, "--log-format", "json", "create", "--bundle", dir, "c1"]));
    const toStderr = await oci(["--debug", "start", "c1"]);
    expect(toStderr.code).toBe(0);
    expect(toStderr.stderr).toMatch(/^time="[^"]+" level=debug msg="start: process \d+ of c1 released"$/m);
    ok(await oci(["--debug", "--log", log, "--log-format", "json", "delete", "-f", "c1"]));
    const lines = readFileSync(log, "utf8").trim().split("\n").map((l) => JSON.parse(l));
    expect(lines.every((l) => l.level === "debug" && typeof l.time === "string")).toBe(true);
    expect(lines.map((l) => l.msg)).toEqual([expect.stringContaining(": create --bundle"), expect.stringMatching(/^create: c1 created; its process \d+ waits/), expect.stringContaining(": delete -f c1"), "delete: c1 removed (its cgroups, its state)"]);
  });

  test("runc's rules: exec in a created container, a working directory only root may enter, list by id, kill --all of a stopped container", async () => {
    // uid 42 in a directory only root may enter: entered first with every privilege, as runc does.
    mkdirSync(join(copyRootfs(ctx.s), "secret"), { mode: 0o700 });
    const dir = await bundle("sleep 100", (c) => {
      c.process.cwd = "/secret";
      c.process.user = { uid: 42, gid: 42 };
    });
    for (const id of ["c2", "c1"]) ok(await oci(["create", "--bundle", dir, id]));
    // The created process waits in the container's namespaces already: an exec joins them.
    const exec = await oci(["exec", "c1", "sh", "-c", "echo $(id -u) $(pwd) $(hostname)"]);
    expect([exec.code, exec.stdout]).toEqual([0, "42 /secret box\n"]);
    // As root without the capabilities to enter it (runc spec's three), exec gets there too.
    const asRoot = await oci(["exec", "--user", "0", "c1", "pwd"]);
    expect([asRoot.code, asRoot.stdout]).toEqual([0, "/secret\n"]);
    // process.json through a pipe (`exec -p <(...)`), read with its bound; a device is no document.
    const fifo = join(ctx.s.dir, "process.fifo");
    expect(Bun.spawnSync(["mkfifo", fifo]).exitCode).toBe(0);
    const writer = (script: string) => Bun.spawn(["sh", "-c", `${script} > ${fifo}`], { stderr: "ignore" });
    const process_ = JSON.stringify({ args: ["/bin/echo", "piped"], cwd: "/", user: { uid: 0, gid: 0 } });
    const small = writer(`printf %s '${process_}'`);
    const piped = await oci(["exec", "-p", fifo, "c1"]);
    await small.exited;
    expect([piped.code, piped.stdout, piped.stderr]).toEqual([0, "piped\n", ""]);
    refused2(await oci(["exec", "-p", "/dev/zero", "c1"]), "/dev/zero: not a regular file or a pipe");
    const big = writer("head -c 5000000 /dev/zero");
    refused2(await oci(["exec", "-p", fifo, "c1"]), "larger than 4 MiB");
    await big.exited;
    ok(await oci(["start", "c1"]));
    const pid = (await state("c1")).pid;
    await eventually(() => readFileSync(`/proc/${pid}/cmdline`, "utf8").startsWith("sleep"));
    expect(readlinkSync(`/proc/${pid}/cwd`)).toEndWith("/secret");
    expect((await oci(["list", "-q"])).stdout).toBe("c1\nc2\n");
    ok(await oci(["kill", "c1", "KILL"]));
    await eventually(async () => (await state("c1")).status === "stopped");
    ok(await oci(["kill", "--all", "c1", "0"]));
    refused2(await oci(["kill", "c1", "0"]), "container not running");
    for (const id of ["c1", "c2"]) ok(await oci(["delete", "-f", id]));
  });

  test("runc's command line: kill 0, delete --force of a missing container, run --keep, ps -ef's and ps x's tables, update's single-limit flags", async () => {
    ok(await oci(["run", "-d", "--bundle", await bundle("sleep 100"), "c1"]));
    ok(await oci(["kill", "c1", "0"]));
    const [header, row] = (await oci(["ps", "c1"])).stdout.trimEnd().split("\n");
    // procps's headers, column for column (parsers find the columns by them; pids past 5 digits widen them).
    expect(header).toMatch(/^UID {8,}PID {2,}PPID  C STIME TTY {10}TIME CMD$/);
    expect(row).toMatch(/^root +\d+ +\d+ +\d+ \d\d:\d\d +\? +00:00:00 sleep 100$/);
    // ps x's table (BSD's), as `runc ps ID -e -x` gets it from ps(1); the process is PID 1 of its session.
    const [bsdHeader, bsdRow] = (await oci(["ps", "c1", "-e", "-x"])).stdout.trimEnd().split("\n");
    expect(bsdHeader).toMatch(/^ {2,}PID TTY {6}STAT   TIME COMMAND$/);
    expect(bsdRow).toMatch(/^ *\d+ \? +Ss +0:00 sleep 100$/);
    refused2(await oci(["ps", "c1", "-o", "pid"]), "box oci ps shows ps -ef's columns or ps x's");
    ok(await oci(["update", "--memory", "48m", "--pids-limit", "33", "--cpu-quota", "20000", "--cpu-period", "100000", "c1"]));
    const v2 = existsSync("/sys/fs/cgroup/cgroup.controllers");
    const read = (ctl: string, file: string) => readFileSync(v2 ? `/sys/fs/cgroup/box/c1/${file}` : `/sys/fs/cgroup/${ctl}/box/c1/${file}`, "utf8").trim();
    expect([read("memory", v2 ? "memory.max" : "memory.limit_in_bytes"), read("pids", "pids.max"), v2 ? read("", "cpu.max") : read("cpu", "cpu.cfs_quota_us")]).toEqual([String(48 << 20), "33", v2 ? "20000 100000" : "20000"]);
    // One limit of a pair changed alone keeps the other as it is (runc's): the period, the memory.
    ok(await oci(["update", "--cpu-period", "90000", "c1"]));
    ok(await oci(["update", "--cpu-quota", "30000", "c1"]));
    expect(v2 ? read("", "cpu.max") : `${read("cpu", "cpu.cfs_quota_us")} ${read("cpu", "cpu.cfs_period_us")}`).toBe("30000 90000");
    ok(await oci(["update", "--memory-swap", "-1", "c1"]));
    expect(read("memory", v2 ? "memory.max" : "memory.limit_in_bytes")).toBe(String(48 << 20));
    const swapFile = v2 ? "/sys/fs/cgroup/box/c1/memory.swap.max" : "/sys/fs/cgroup/memory/box/c1/memory.memsw.limit_in_bytes";
    if (existsSync(swapFile)) expect(readFileSync(swapFile, "utf8").trim()).toBe(v2 ? "max" : "9223372036854771712");
    // -1 takes a limit away (runc's), the swap's with the memory's.
    ok(await oci(["update", "--memory-swap", String(96 << 20), "--memory", String(48 << 20), "c1"]));
    ok(await oci(["update", "--memory", "-1", "--cpu-quota", "-1", "c1"]));
    const unlimited = v2 ? "max" : "9223372036854771712";
    expect(read("memory", v2 ? "memory.max" : "memory.limit_in_bytes")).toBe(unlimited);
    if (existsSync(swapFile)) expect(readFileSync(swapFile, "utf8").trim()).toBe(unlimited);
    expect(v2 ? read("", "cpu.max") : `${read("cpu", "cpu.cfs_quota_us")} ${read("cpu", "cpu.cfs_period_us")}`).toBe(v2 ? "max 90000" : "-1 90000");
    ok(await oci(["delete", "-f", "c1"]));
    refused2(await oci(["kill", "c1", "0"]), "does not exist");
    ok(await oci(["delete", "--force", "c1"]));
    refused2(await oci(["delete", "c1"]), "container c1 does not exist");
    // --keep: the container stays, stopped, after its process is gone.
    expect((await oci(["run", "--keep", "--bundle", await bundle("exit 5"), "kept"])).code).toBe(5);
    expect((await state("kept")).status).toBe("stopped");
    ok(await oci(["delete", "kept"]));
  });

  test("exec: --preserve-fds, --cgroup, --ignore-paused, --cap; create --preserve-fds; a foreground exec -t returns when its process ends", async () => {
    const passed = join(ctx.s.dir, "passed.txt");
    writeFileSync(passed, "handed over\n");
    // create --preserve-fds 1: the caller's fd 3 is the process's fd 3.
    const dir = await bundle("cat <&3; mkdir /sys/fs/cgroup/sub 2>/dev/null; sleep 100", (c) => {
      c.mounts = c.mounts.map((m: Config) => (m.destination === "/sys/fs/cgroup" ? { ...m, options: (m.options as string[]).filter((o) => o !== "ro") } : m));
    });
    const out = join(ctx.s.dir, "created.out");
    const create = Bun.spawnSync(["sh", "-c", `"$@" 3<${passed}`, "sh", ...BOX, "oci", "--root", ctx.s.root, "run", "-d", "--preserve-fds", "1", "--bundle", dir, "c1"], { stdout: Bun.file(out), stderr: Bun.file(`${out}.err`) });
    expect(create.exitCode).toBe(0);
    const checks = async () => {
    await eventually(() => readFileSync(out, "utf8") === "handed over\n");
    const viaExec = Bun.spawnSync(["sh", "-c", `"$@" 3<${passed}`, "sh", ...BOX, "oci", "--root", ctx.s.root, "exec", "--preserve-fds", "1", "c1", "sh", "-c", "cat <&3"]);
    expect(viaExec.stdout.toString()).toBe("handed over\n");
    // --cgroup: a sub-cgroup the container made.
    const v2 = existsSync("/sys/fs/cgroup/cgroup.controllers");
    const pidsDir = v2 ? "/sys/fs/cgroup/box/c1" : "/sys/fs/cgroup/pids/box/c1";
    if (!v2) mkdirSync(`${pidsDir}/sub`);
    await eventually(() => existsSync(`${pidsDir}/sub`));
    const subPid = join(ctx.s.dir, "sub.pid");
    ok(await oci(["exec", "-d", "--pid-file", subPid, "--cgroup", v2 ? "sub" : "pids:sub", "c1", "sleep", "100"]));
    const cgroupOf = readFileSync(`/proc/${readFileSync(subPid, "utf8")}/cgroup`, "utf8");
    expect(cgroupOf).toContain(v2 ? "0::/box/c1/sub" : "pids:/box/c1/sub");
    // Only the controller named: the others are the container's own.
    if (!v2) expect(cgroupOf).toContain("memory:/box/c1\n");
    if (!v2) {
      // Made in every v1 hierarchy only: a hybrid host's cgroup2 tree limits nothing, so there the
      // process stays in the container's own cgroup.
      // (cpu and cpuacct may be one hierarchy under two names.)
      const v1Dirs = [...new Set(readdirSync("/sys/fs/cgroup").filter((h) => h !== "unified" && existsSync(`/sys/fs/cgroup/${h}/box/c1`)).map((h) => realpathSync(`/sys/fs/cgroup/${h}`)))];
      for (const h of v1Dirs) mkdirSync(`${h}/box/c1/sub2`);
      ok(await oci(["exec", "-d", "--pid-file", subPid, "--cgroup", "sub2", "c1", "sleep", "100"]));
      const lines = readFileSync(`/proc/${readFileSync(subPid, "utf8")}/cgroup`, "utf8");
      expect(lines.split("\n").filter((l) => l.endsWith(":/box/c1/sub2")).length).toBe(v1Dirs.length);
      if (existsSync("/sys/fs/cgroup/unified/box/c1")) expect(lines).toContain("0::/box/c1\n");
    }
    refused2(await oci(["exec", "--cgroup", "../escape", "c1", "true"]), "invalid --cgroup");
    // --cap: the exec'd process has it (the container's own sets do not).
    const effective = (await oci(["exec", "--cap", "CAP_NET_ADMIN", "c1", "grep", "CapEff", "/proc/self/status"])).stdout;
    expect((BigInt(`0x${effective.split("\t")[1]!.trim()}`) >> 12n) & 1n).toBe(1n);
    // Paused: refused, or with --ignore-paused it waits for the resume.
    ok(await oci(["pause", "c1"]));
    refused2(await oci(["exec", "c1", "true"]), "cannot exec in a paused container");
    const waiting = oci(["exec", "--ignore-paused", "c1", "echo", "after resume"]);
    await Bun.sleep(300);
    ok(await oci(["resume", "c1"]));
    expect((await waiting).stdout).toBe("after resume\n");
    // On a terminal, exec -t returns with its process's status (it used to wait for a key).
    const tty = Bun.spawnSync(["script", "-qec", `${[...BOX, "oci", "--root", ctx.s.root, "exec", "-t", "c1", "sh", "-c", "'echo on-tty; exit 3'"].join(" ")}`, "/dev/null"], { timeout: 10000 });
    expect([tty.stdout.toString().replace(/\^@/g, ""), tty.exitCode]).toEqual(["on-tty\r\n", 3]);
    // delete removes the sub-cgroup with the container's (as runc), its process killed with the rest.
    ok(await oci(["delete", "-f", "c1"]));
    expect(existsSync(pidsDir)).toBe(false);
    };
    try {
      await checks();
    } finally {
      await oci(["delete", "-f", "c1"]);
    }
  });

  test("--console-socket: the pty's master goes to the caller (SCM_RIGHTS), as containerd's shim receives it", async () => {
    const receiver = join(ctx.s.dir, "console-receiver");
    const cc = Bun.spawnSync(["gcc", "-O2", "-o", receiver, join(import.meta.dir, "helpers/console-receiver.c")], { stderr: "pipe" });
    expect(cc.stderr.toString()).toBe("");
    const socket = join(ctx.s.dir, "console.sock");
    const recv = Bun.spawn([receiver, socket], { stdout: "pipe" });
    const reader = recv.stdout.getReader();
    expect(await readUntil(reader, "\n")).toBe("listening\n");
    const dir = await bundle("tty; stty size; echo hello", (c) => {
      c.process.terminal = true;
      c.process.consoleSize = { height: 30, width: 100 };
    });
    ok(await oci(["create", "--bundle", dir, "--console-socket", socket, "c1"]));
    ok(await oci(["start", "c1"]));
    let out = "";
    for (let r = await reader.read(); !r.done; r = await reader.read()) out += new TextDecoder().decode(r.value);
    expect(out.replace(/\r/g, "")).toBe("name=/dev/ptmx\n/dev/pts/0\n30 100\nhello\n");
    await eventually(async () => (await state("c1")).status === "stopped");
    ok(await oci(["delete", "c1"]));
  });

  test("a bundle as runc spec writes it runs unchanged but for its process", async () => {
    const dir = join(ctx.s.dir, "runc-bundle");
    mkdirSync(dir);
    expect(Bun.spawnSync(["runc", "spec", "--bundle", dir]).exitCode).toBe(0);
    symlinkSync(copyRootfs(ctx.s), join(dir, "rootfs"));
    const config = JSON.parse(readFileSync(join(dir, "config.json"), "utf8")) as Config;
    config.process.terminal = false;
    config.process.args = ["/bin/sh", "-c", "hostname; grep CapBnd /proc/self/status"];
    writeFileSync(join(dir, "config.json"), JSON.stringify(config));
    const r = await runBundle(dir);
    expect(r.stderr).toBe("");
    // AUDIT_WRITE 29, KILL 5, NET_BIND_SERVICE 10
    expect(r.stdout).toBe(`runc\nCapBnd:\t${((1n << 29n) | (1n << 5n) | (1n << 10n)).toString(16).padStart(16, "0")}\n`);
  });

  test("a seccomp agent (listenerPath) answers what the filter notifies: for the process, and for exec", async () => {
    const agentBin = join(ctx.s.dir, "seccomp-agent");
    const cc = Bun.spawnSync(["gcc", "-O2", "-o", agentBin, join(import.meta.dir, "helpers/seccomp-agent.c")], { stderr: "pipe" });
    expect(cc.stderr.toString()).toBe("");
    const socket = join(ctx.s.dir, "agent.sock");
    const agent = Bun.spawn([agentBin, socket, "20"], { stdout: "pipe" });
    const reader = agent.stdout.getReader();
    let pending = "";
    const nextLine = async () => {
      if (!pending.includes("\n")) pending = await readUntil(reader, "\n", 20000, pending);
      const line = pending.slice(0, pending.indexOf("\n"));
      pending = pending.slice(line.length + 1);
      return line;
    };
    try {
      expect(await nextLine()).toBe("listening");
      const notifying = (noNewPrivileges: boolean) => (c: Config) => {
        c.process.noNewPrivileges = noNewPrivileges;
        // A listener path with no notifying rule is ignored (as runc); the flags are seccomp(2)'s.
        c.linux.seccomp = { defaultAction: "SCMP_ACT_ALLOW", listenerPath: socket, listenerMetadata: "meta-1", flags: ["SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW"], syscalls: [{ names: ["mkdir", "mkdirat"], action: "SCMP_ACT_NOTIFY" }] };
      };
      // The agent answers mkdir "done" without doing it: success and no directory, which only it can cause.
      const probe = "mkdir /tmp/made && echo mkdir-ok; [ -d /tmp/made ] && echo exists || echo absent";
      const r = await runBundle(await bundle(probe, notifying(true)), "n1");
      expect([r.stdout, r.stderr, r.code]).toEqual(["mkdir-ok\nabsent\n", "", 0]);
      const sent = JSON.parse(await nextLine());
      expect(sent).toMatchObject({ fds: ["seccompFd"], metadata: "meta-1", state: { id: "n1", status: "running" } });
      expect(sent.pid).toBeGreaterThan(1);
      expect(sent.pid).toBe(sent.state.pid);
      expect(await nextLine()).toBe("answered mkdir");
      // exec: its process loads the filter too, and its listener goes to the agent the same way.
      ok(await oci(["run", "-d", "--bundle", await bundle("exec sleep 30", notifying(false)), "n2"]));
      expect(JSON.parse(await nextLine())).toMatchObject({ state: { id: "n2" } });
      const e = await oci(["exec", "n2", "sh", "-c", probe]);
      expect([e.stdout, e.stderr, e.code]).toEqual(["mkdir-ok\nabsent\n", "", 0]);
      expect(JSON.parse(await nextLine())).toMatchObject({ metadata: "meta-1", state: { id: "n2", pid: (await state("n2")).pid } });
      expect(await nextLine()).toBe("answered mkdir");
    } finally {
      await oci(["delete", "-f", "n2"]);
      agent.kill();
      await agent.exited;
    }
  });

  test("features and spec describe what box accepts", async () => {
    const f = JSON.parse((await oci(["features"])).stdout);
    expect(f.ociVersionMax).toBe("1.2.0");
    expect(f.hooks).toContain("startContainer");
    expect(f.linux.namespaces).toContain("user");
    expect(f.mountOptions).toContain("rbind");
    // The default bundle runs as it is written (with a terminal: in the foreground, on box's pty).
    const dir = await bundle("echo default-ok");
    expect((await runBundle(dir)).stdout).toBe("default-ok\n");
    refused2(await oci(["spec", "--bundle", dir]), "exists; remove it first");
  });
});

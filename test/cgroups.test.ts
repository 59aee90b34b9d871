// Resource limits through cgroups, seen from the host's cgroup files and from the payload.
import { describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { box, boxArgs, containerState, copyRootfs, eventually, readUntil, sh, storePerTest, type Store } from "./helpers/box.ts";
import { detectCgroups } from "../src/cgroup/detect.ts";
import { blkioToIoWeight, checkControllers, limitWrites, sharesToWeight } from "../src/cgroup/limits.ts";
import type { ResourceSpec } from "../src/container/spec.ts";

const t = storePerTest();
const layout = detectCgroups();
const v1 = layout.version === 1;

/** The container's cgroup file for a controller, e.g. ("memory", "memory.max"). */
function cgroupFile(s: Store, controller: string, file: string): string {
  const [id] = readdirSync(join(s.root, "containers"));
  const h = layout.hierarchies.find((x) => x.controllers.includes(controller))!;
  return join(h.mountpoint, "box", id!, file);
}

/** Runs a container that prints "ready" and stays until killed; returns a stopper. */
async function startReady(s: Store, flags: string[], script = "echo ready; exec sleep 30") {
  const proc = Bun.spawn(boxArgs(s, ["run", "--rm", "--rootfs", copyRootfs(s), ...flags, "/bin/sh", "-c", script]), { stdout: "pipe" });
  let out: string;
  try {
    out = await readUntil(proc.stdout.getReader(), "ready");
  } catch (e) {
    proc.kill("SIGKILL");
    await proc.exited;
    throw e;
  }
  return {
    out: () => out,
    stop: async () => {
      proc.kill("SIGKILL");
      await proc.exited;
    },
  };
}

function read(path: string): string {
  return readFileSync(path, "utf8").trim();
}

describe("limits land in the container's cgroup before the payload runs", () => {
  test("memory, cpu, cpuset, pids", async () => {
    const c = await startReady(t.s, ["-m", "64m", "--memory-reservation", "32m", "--cpus", "0.5", "--cpu-shares", "512", "--cpuset-cpus", "0", "--pids-limit", "42"]);
    try {
      if (v1) {
        expect(read(cgroupFile(t.s, "memory", "memory.limit_in_bytes"))).toBe(String(64 << 20));
        expect(read(cgroupFile(t.s, "memory", "memory.memsw.limit_in_bytes"))).toBe(String(128 << 20));
        expect(read(cgroupFile(t.s, "memory", "memory.soft_limit_in_bytes"))).toBe(String(32 << 20));
        expect(read(cgroupFile(t.s, "cpu", "cpu.cfs_quota_us"))).toBe("50000");
        expect(read(cgroupFile(t.s, "cpu", "cpu.cfs_period_us"))).toBe("100000");
        expect(read(cgroupFile(t.s, "cpu", "cpu.shares"))).toBe("512");
      } else {
        expect(read(cgroupFile(t.s, "memory", "memory.max"))).toBe(String(64 << 20));
        expect(read(cgroupFile(t.s, "memory", "memory.low"))).toBe(String(32 << 20));
        expect(read(cgroupFile(t.s, "cpu", "cpu.max"))).toBe("50000 100000");
        expect(read(cgroupFile(t.s, "cpu", "cpu.weight"))).toBe(String(sharesToWeight(512)));
      }
      expect(read(cgroupFile(t.s, "cpuset", "cpuset.cpus"))).toBe("0");
      expect(read(cgroupFile(t.s, "pids", "pids.max"))).toBe("42");
    } finally {
      await c.stop();
    }
  });

  test("the payload sees its own cgroup as / (cgroup namespace), and /sys/fs/cgroup shows it, read-only", async () => {
    const r = await sh(t.s, "cat /proc/self/cgroup", ["-m", "64m"]);
    for (const line of r.stdout.trim().split("\n")) expect(line).toMatch(/:\/$/);
    const pidsMax = v1 ? "/sys/fs/cgroup/pids/pids.max" : "/sys/fs/cgroup/pids.max";
    const inside = await sh(t.s, `cat ${pidsMax}; echo 1 > ${pidsMax} || echo refused; grep -c ' /sys/fs/cgroup' /proc/self/mounts`, ["--pids-limit", "33"]);
    const [limit, refused, mounts] = inside.stdout.trim().split("\n");
    expect([limit, refused]).toEqual(["33", "refused"]);
    expect(Number(mounts)).toBe(v1 ? layout.hierarchies.length + 1 : 1);
  });

  test("the processes are in the container's cgroup of every hierarchy: the controllers', a named one (systemd), a hybrid host's cgroup2 tree (as runc's); each goes with it", async () => {
    // The host says what it has: v1 hierarchies with controllers or a name, a cgroup2 mount beside them.
    const mountinfo = readFileSync("/proc/self/mountinfo", "utf8");
    const unified = layout.hierarchies.find((h) => h.unified);
    expect(unified?.mountpoint).toBe(v1 && mountinfo.includes(" /sys/fs/cgroup/unified ") ? "/sys/fs/cgroup/unified" : undefined);
    expect(layout.hierarchies.some((h) => h.name === "systemd")).toBe(v1 && / - cgroup \S+ \S*name=systemd/.test(mountinfo));
    const c = await startReady(t.s, ["--network", "none"]);
    const [id] = readdirSync(join(t.s.root, "containers"));
    const dirs = layout.hierarchies.map((h) => join(h.mountpoint, "box", id!));
    try {
      const pid = containerState(t.s, id!).pid;
      // The payload (the init's child): from the host, each of its cgroups is the container's.
      const payload = readFileSync(join(dirs[0]!, "cgroup.procs"), "utf8").trim().split("\n").map(Number).find((p) => p !== pid)!;
      const lines = readFileSync(`/proc/${payload}/cgroup`, "utf8").trim().split("\n");
      expect(lines.filter((l) => !l.endsWith(`:/box/${id}`))).toEqual([]);
      expect(lines.length).toBe(layout.hierarchies.length);
      // box exec's process joins them as well: each at the root of the container's cgroup namespace
      // (one outside it would see a path up and out, "/../..").
      const inside = (await box(t.s, ["exec", id!, "cat", "/proc/self/cgroup"])).stdout.trim().split("\n");
      expect([inside.length, inside.filter((l) => !l.endsWith(":/"))]).toEqual([layout.hierarchies.length, []]);
      await c.stop();
      await eventually(() => dirs.every((d) => !existsSync(d)));
    } finally {
      await c.stop();
    }
  });

  test("block I/O weight and throttles on a real block device", async () => {
    const dev = ["/dev/vda", "/dev/sda", "/dev/nvme0n1", "/dev/loop0"].find((d) => {
      try {
        return statSync(d).isBlockDevice();
      } catch {
        return false;
      }
    })!;
    const st = statSync(dev);
    const majmin = `${Math.floor(Number(st.rdev) / 256) & 0xfff}:${Number(st.rdev) & 0xff}`;
    const c = await startReady(t.s, ["--device-read-bps", `${dev}:1m`, "--device-write-iops", `${dev}:100`]);
    // A weight needs CFQ or BFQ on v1 (a disk with mq-deadline has only the throttles, and BFQ's
    // file is on no root cgroup): asked of a container's cgroup, and where there is none, the
    // refusal is what is checked.
    let weightFile: string | undefined = "io.weight";
    try {
      if (v1) {
        expect(read(cgroupFile(t.s, "blkio", "blkio.throttle.read_bps_device"))).toBe(`${majmin} 1048576`);
        expect(read(cgroupFile(t.s, "blkio", "blkio.throttle.write_iops_device"))).toBe(`${majmin} 100`);
        weightFile = ["blkio.bfq.weight", "blkio.weight"].find((f) => existsSync(cgroupFile(t.s, "blkio", f)));
      } else {
        expect(read(cgroupFile(t.s, "io", "io.max"))).toContain(`${majmin} rbps=1048576`);
        weightFile = ["io.bfq.weight", "io.weight"].find((f) => existsSync(cgroupFile(t.s, "io", f)));
      }
    } finally {
      await c.stop();
    }
    if (!weightFile) {
      const r = await sh(t.s, "true", ["--blkio-weight", "300"]);
      const files = v1 ? "blkio.weight or blkio.bfq.weight" : "io.bfq.weight or io.weight";
      expect([r.code, r.stderr]).toEqual([125, `box: --blkio-weight: this host's ${v1 ? "blkio" : "io"} controller has no ${files}\n`]);
      return;
    }
    const weighted = await startReady(t.s, ["--blkio-weight", "300"]);
    try {
      expect(read(cgroupFile(t.s, v1 ? "blkio" : "io", weightFile))).toMatch(v1 ? /300/ : new RegExp(String(blkioToIoWeight(300))));
    } finally {
      await weighted.stop();
    }
  });
});

test("--oom-kill-disable: v1 sets it; v2 has no such switch and says so", async () => {
  if (v1) {
    const c = await startReady(t.s, ["-m", "64m", "--oom-kill-disable"]);
    try {
      expect(read(cgroupFile(t.s, "memory", "memory.oom_control"))).toMatch(/^oom_kill_disable 1$/m);
    } finally {
      await c.stop();
    }
  } else {
    const r = await sh(t.s, "true", ["-m", "64m", "--oom-kill-disable"]);
    expect([r.code, r.stderr]).toEqual([125, "box: --oom-kill-disable needs cgroup v1: cgroup v2 has no such switch\n"]);
  }
});

describe("what users rely on", () => {
  test("a payload allocating past -m is OOM-killed: 137, OOMKilled in its state, the init unharmed", async () => {
    const r = await box(t.s, ["run", "--name", "hog", "-m", "16m", "--rootfs", copyRootfs(t.s), "/bin/sh", "-c", "head -c 200m /dev/zero | tail > /dev/null"]);
    expect(r.code).toBe(137);
    const [id] = readdirSync(join(t.s.runroot, "containers"));
    expect(containerState(t.s, id!)).toMatchObject({ exitCode: 137, oomKilled: true });
    expect((await box(t.s, ["rm", "hog"])).code).toBe(0);
  });

  test("a fork bomb under --pids-limit is contained", async () => {
    const bomb = 'sh -c "i=0; while [ \\$i -lt 200 ]; do sleep 5 & i=\\$((i+1)); done" 2>/dev/null; echo ready; exec sleep 5';
    const c = await startReady(t.s, ["--pids-limit", "20"], bomb);
    try {
      expect(Number(read(cgroupFile(t.s, "pids", "pids.current")))).toBeLessThanOrEqual(20);
      expect(read(cgroupFile(t.s, "pids", "pids.events"))).toMatch(/^max [1-9]/m);
      // The host keeps working.
      expect(Bun.spawnSync(["true"]).exitCode).toBe(0);
    } finally {
      await c.stop();
    }
  });

  test("--cpus 0.5 holds a busy loop near half a core (the cgroup's own counter)", async () => {
    const started = performance.now();
    const r = await box(t.s, ["run", "--name", "spin", "--cpus", "0.5", "--rootfs", copyRootfs(t.s), "/bin/sh", "-c", "while :; do :; done & exec sleep 2"]);
    const wall = (performance.now() - started) / 1000;
    expect(r.code).toBe(0);
    const used = v1 ? Number(read(cgroupFile(t.s, "cpuacct", "cpuacct.usage"))) / 1e9 : Number(/usage_usec (\d+)/.exec(read(cgroupFile(t.s, "cpu", "cpu.stat")))![1]) / 1e6;
    // 2 s of a full core would be 2 s; half a core is ~1 s.
    expect(used).toBeGreaterThan(0.6);
    expect(used).toBeLessThan(Math.min(1.4, wall * 0.7));
    expect((await box(t.s, ["rm", "spin"])).code).toBe(0);
  });
});

describe("bad values are refused with one line, nothing created", () => {
  test.each([
    [["-m", "1Q"], 'invalid value "1Q" for --memory'],
    [["-m", "4m"], "the minimum is 6m"],
    [["--cpus", "-1"], 'invalid value "-1" for --cpus'],
    [["--cpus", "99"], "the range is 0.01 to"],
    [["--cpuset-cpus", "99"], "CPU 99 does not exist"],
    [["--cpuset-cpus", "1-0"], "expected a list like 0-2,4"],
    [["--pids-limit", "lots"], 'invalid value "lots" for --pids-limit'],
    [["--cpu-shares", "1"], "from 2 to 262144"],
    [["--blkio-weight", "5"], "from 10 to 1000"],
    [["--memory-swap", "1g"], "--memory-swap needs --memory"],
    [["-m", "1g", "--memory-swap", "512m"], "must be at least --memory"],
    [["--cpus", "1", "--cpu-quota", "50000"], "cannot be combined"],
    [["--device-read-bps", "/dev/null:1m"], "is not a block device"],
  ])("%p", async (flags, message) => {
    const r = await sh(t.s, "true", flags);
    expect(r.code).toBe(125);
    expect(r.stderr).toContain(message);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
  });
});

describe("conversions for both cgroup versions (this host runs one of them for real)", () => {
  const none: ResourceSpec = { deviceReadBps: [], deviceWriteBps: [], deviceReadIops: [], deviceWriteIops: [] };
  const files = (r: Partial<ResourceSpec>, v: 1 | 2) => Object.fromEntries(limitWrites({ ...none, ...r }, v).map((w) => [w.files[0], w.value]));

  test("Docker's shares → weight and blkio → io.weight, as runc converts them", () => {
    expect([sharesToWeight(2), sharesToWeight(1024), sharesToWeight(262144)]).toEqual([1, 39, 10000]);
    expect([blkioToIoWeight(10), blkioToIoWeight(500), blkioToIoWeight(1000)]).toEqual([1, 4950, 10000]);
  });

  test("memory and swap", () => {
    expect(files({ memory: 1 << 30 }, 1)).toEqual({ "memory.limit_in_bytes": String(1 << 30), "memory.memsw.limit_in_bytes": String(2 * 2 ** 30) });
    expect(files({ memory: 1 << 30, memorySwap: -1 }, 2)).toEqual({ "memory.max": String(1 << 30), "memory.swap.max": "max" });
    expect(files({ memory: 1 << 30, memorySwap: 3 * 2 ** 30 }, 2)).toEqual({ "memory.max": String(1 << 30), "memory.swap.max": String(2 * 2 ** 30) });
  });

  test("cpu", () => {
    expect(files({ cpuPeriod: 100000, cpuQuota: 50000 }, 2)).toEqual({ "cpu.max": "50000 100000" });
    expect(files({ cpuQuota: -1, cpuPeriod: 100000 }, 1)).toEqual({ "cpu.cfs_period_us": "100000", "cpu.cfs_quota_us": "-1" });
  });

  test("a missing controller is named, not ignored (a host without pids: this machine has it, so the layout is made up)", () => {
    const noPids = { version: 1 as const, hybrid: false, hierarchies: [{ mountpoint: "/x", controllers: ["memory"] }] };
    expect(() => checkControllers({ ...none, pidsLimit: 10 }, noPids)).toThrow("--pids-limit needs the pids cgroup controller");
  });
});

describe("pause, unpause, update, info", () => {
  test("pause freezes the payload (the init stays responsive), unpause resumes it", async () => {
    const c = await startReady(t.s, ["--name", "ticker"], "echo ready; i=0; while true; do i=$((i+1)); echo $i > /tmp/n; done");
    try {
      expect((await box(t.s, ["pause", "ticker"])).code).toBe(0);
      const [id] = readdirSync(join(t.s.root, "containers"));
      const state = () => containerState(t.s, id!).status;
      expect(state()).toBe("paused");
      const frozen = v1 ? read(cgroupFile(t.s, "freezer", "freezer.state")) : read(cgroupFile(t.s, "memory", "cgroup.events"));
      expect(frozen).toMatch(v1 ? /^FROZEN$/ : /^frozen 1$/m);
      // Frozen: the payload's CPU counter stands still.
      const usage = () => (v1 ? read(cgroupFile(t.s, "cpuacct", "cpuacct.usage")) : /usage_usec (\d+)/.exec(read(cgroupFile(t.s, "cpu", "cpu.stat")))![1]);
      const before = usage();
      await Bun.sleep(300);
      expect(usage()).toBe(before);
      expect((await box(t.s, ["pause", "ticker"])).stderr).toBe("box: container ticker is already paused\n");
      expect((await box(t.s, ["unpause", "ticker"])).code).toBe(0);
      expect(state()).toBe("running");
      await Bun.sleep(200);
      expect(usage()).not.toBe(before);
    } finally {
      await c.stop();
    }
  });

  test("rm -f of a paused container thaws and removes it", async () => {
    const proc = Bun.spawn(boxArgs(t.s, ["run", "--name", "frozen", "--rootfs", copyRootfs(t.s), "/bin/sh", "-c", "echo ready; exec sleep 60"]), { stdout: "pipe" });
    await proc.stdout.getReader().read();
    expect((await box(t.s, ["pause", "frozen"])).code).toBe(0);
    expect((await box(t.s, ["rm", "-f", "frozen"])).code).toBe(0);
    expect(await proc.exited).toBe(137);
  });

  test("update changes the limits of a running container", async () => {
    const c = await startReady(t.s, ["--name", "grow", "-m", "64m", "--pids-limit", "50"]);
    try {
      const r = await box(t.s, ["update", "-m", "512m", "--pids-limit", "80", "--cpus", "1.5", "grow"]);
      expect(r).toEqual({ code: 0, stdout: "grow\n", stderr: "" });
      expect(read(cgroupFile(t.s, "memory", v1 ? "memory.limit_in_bytes" : "memory.max"))).toBe(String(512 * 2 ** 20));
      expect(read(cgroupFile(t.s, "pids", "pids.max"))).toBe("80");
      expect(read(cgroupFile(t.s, "cpu", v1 ? "cpu.cfs_quota_us" : "cpu.max"))).toMatch(/^150000/);
      const [id] = readdirSync(join(t.s.root, "containers"));
      expect(JSON.parse(readFileSync(join(t.s.root, "containers", id!, "config.json"), "utf8")).resources).toMatchObject({ memory: 512 * 2 ** 20, pidsLimit: 80 });
      expect((await box(t.s, ["update", "grow"])).code).toBe(125);
      expect((await box(t.s, ["update", "-m", "1Q", "grow"])).stderr).toContain('invalid value "1Q"');
    } finally {
      await c.stop();
    }
    expect((await box(t.s, ["update", "-m", "1g", "nosuch"])).stderr).toBe("box: no such container: nosuch\n");
  });

  test("stats reads CPU, memory, pids from the container's cgroup", async () => {
    const c = await startReady(t.s, ["--name", "busy", "-m", "100m", "--cpus", "0.5"], "head -c 30m /dev/zero > /dev/shm/x; echo ready; while :; do :; done");
    try {
      // Docker's row: MemUsage "31.2MiB / 100MiB", CPUPerc "49.87%".
      const row = JSON.parse((await box(t.s, ["stats", "--no-stream", "--format", "json"])).stdout);
      expect(row.Name).toBe("busy");
      const [usage, limit] = (row.MemUsage as string).split(" / ").map((v) => Number(/^([\d.]+)MiB$/.exec(v)?.[1]));
      expect(limit).toBe(100);
      expect(usage).toBeGreaterThan(25);
      expect(usage).toBeLessThan(60);
      expect(parseFloat(row.CPUPerc)).toBeGreaterThan(20);
      expect(parseFloat(row.CPUPerc)).toBeLessThan(75);
      expect(Number(row.PIDs)).toBeGreaterThanOrEqual(1);
      const table = await box(t.s, ["stats", "--no-stream", "busy"]);
      expect(table.stdout).toMatch(/^CONTAINER ID\s+NAME\s+CPU %\s+MEM USAGE \/ LIMIT/);
      expect(table.stdout).toMatch(/\sbusy\s+\d+\.\d+%\s+\d/);
      expect((await box(t.s, ["stats", "--no-stream", "nosuch"])).code).toBe(125);
    } finally {
      await c.stop();
    }
  });

  test("box info says what the host has and what works", async () => {
    const text = await box(t.s, ["info"]);
    expect(text.stdout).toContain(`Cgroups: v${layout.version}`);
    expect(text.stdout).toMatch(/--pids-limit\s+yes/);
    const json = JSON.parse((await box(t.s, ["info", "--format", "json"])).stdout);
    expect(json.CgroupVersion).toBe(String(layout.version));
    expect(json.CgroupHierarchies.Mounts.map((h: { Mountpoint: string }) => h.Mountpoint)).toEqual(layout.hierarchies.map((h) => h.mountpoint));
    expect(json.LimitFlags.find((f: { Flags: string }) => f.Flags === "--pids-limit").Supported).toBe(true);
    expect(json.PidsLimit).toBe(true);
  });
});

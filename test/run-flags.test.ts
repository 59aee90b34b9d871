// docker run's flags as a provisioning script uses them: what the container sees from inside,
// what the host sees, what inspect says, and Docker's refusals (one line, exit 125).
import { describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { box, boxArgs, copyRootfs, expectRefused, readUntil, runDetached, sh, storePerTest } from "./helpers/box.ts";

const t = storePerTest();

/** The line of /proc/mounts (inside the container) for a mount point. */
function mountLine(mounts: string, at: string): string | undefined {
  return mounts.split("\n").find((l) => l.split(" ")[1] === at);
}

async function inspect(id: string, template: string): Promise<string> {
  const r = await box(t.s, ["inspect", "-f", template, id]);
  expect(r.stderr).toBe("");
  return r.stdout.trim();
}

describe("mounts: --tmpfs, --mount, -v, --shm-size, --volumes-from", () => {
  test("--tmpfs: Docker's defaults (noexec, nosuid, nodev), options that override them, a size", async () => {
    const r = await sh(t.s, "cat /proc/mounts; touch /run/x /fast/y && echo written", ["--network", "none", "--tmpfs", "/run:size=1m", "--tmpfs", "/fast:exec,mode=700"]);
    expect(r.stderr).toBe("");
    const runLine = mountLine(r.stdout, "/run")!;
    expect(runLine).toMatch(/^tmpfs \/run tmpfs rw,nosuid,nodev,noexec,.*size=1024k/);
    const fast = mountLine(r.stdout, "/fast")!;
    expect(fast).toMatch(/nosuid,nodev/);
    expect(fast).not.toMatch(/noexec/);
    expect(fast).toMatch(/mode=700/);
    expect(r.stdout).toContain("written");
  });

  test("--mount type=bind (relative source, readonly) and type=tmpfs (tmpfs-size, tmpfs-mode)", async () => {
    const data = join(t.s.dir, "data");
    mkdirSync(data);
    writeFileSync(join(data, "f"), "from-host\n");
    const proc = Bun.spawn(
      boxArgs(t.s, ["run", "--rm", "--rootfs", copyRootfs(t.s), "--network", "none", "--mount", "type=bind,source=./data,target=/d,readonly", "--mount", "type=bind,src=./data,dst=/w", "--mount", "type=tmpfs,destination=/t,tmpfs-size=2m,tmpfs-mode=1770", "sh", "-c", "cat /d/f; echo x > /d/g || echo refused; echo y > /w/h; grep -E ' /(d|t) ' /proc/mounts"]),
      { cwd: t.s.dir, stdout: "pipe", stderr: "pipe" },
    );
    const [out, err] = [await new Response(proc.stdout).text(), await new Response(proc.stderr).text()];
    expect(await proc.exited).toBe(0);
    expect(out).toContain("from-host\nrefused\n");
    expect(err).toContain("Read-only file system");
    expect(readFileSync(join(data, "h"), "utf8")).toBe("y\n");
    expect(mountLine(out, "/d")).toMatch(/ ro,/);
    expect(mountLine(out, "/t")).toMatch(/size=2048k,mode=1770/);
  });

  test("--mount bind-propagation=rslave: a mount made on the host below the source later shows in the container", async () => {
    const shared = join(t.s.dir, "shared");
    mkdirSync(shared);
    // The source must be a shared mount for anything to propagate (the host's / may be private).
    expect(Bun.spawnSync(["mount", "-t", "tmpfs", "box-test-shared", shared]).exitCode).toBe(0);
    try {
      expect(Bun.spawnSync(["mount", "--make-shared", shared]).exitCode).toBe(0);
      mkdirSync(join(shared, "later"));
      const id = await runDetached(t.s, ["--network", "none", "--mount", `type=bind,src=${shared},dst=/w,bind-propagation=rslave`], "sleep 30");
      expect(Bun.spawnSync(["mount", "-t", "tmpfs", "box-test-later", join(shared, "later")]).exitCode).toBe(0);
      const seen = await box(t.s, ["exec", id, "grep", "-c", "^box-test-later /w/later ", "/proc/mounts"]);
      expect(seen.stdout).toBe("1\n");
      expect(JSON.parse(await inspect(id, "{{json .Mounts}}"))[0].Propagation).toBe("rslave");
      await box(t.s, ["rm", "-f", id]);
    } finally {
      Bun.spawnSync(["umount", "-R", shared]);
    }
  });

  test("-v ./dir:/x is the host's directory relative to the working directory (Docker 23+)", async () => {
    mkdirSync(join(t.s.dir, "rel"));
    writeFileSync(join(t.s.dir, "rel", "f"), "relative\n");
    const proc = Bun.spawn(boxArgs(t.s, ["run", "--rm", "--rootfs", copyRootfs(t.s), "--network", "none", "-v", "./rel:/x:ro", "cat", "/x/f"]), { cwd: t.s.dir, stdout: "pipe", stderr: "pipe" });
    expect(await new Response(proc.stdout).text()).toBe("relative\n");
    expect(await proc.exited).toBe(0);
  });

  test("refusals name the real reason: not a path nor a volume name, a missing source, a bad key, a duplicate target", async () => {
    expectRefused(await sh(t.s, "true", ["-v", "my data:/x"]), /"my data" is neither a host path \(absolute, or starting with .\/ or ..\/\) nor a volume name/);
    expectRefused(await sh(t.s, "true", ["-v", "/nonexistent-box-dir:/x"]), /bind source path does not exist: \/nonexistent-box-dir/);
    expectRefused(await sh(t.s, "true", ["-v", "/tmp:/x:bogus"]), /unknown mode "bogus"/);
    expectRefused(await sh(t.s, "true", ["--mount", "type=bind,target=/x"]), /source is required/);
    expectRefused(await sh(t.s, "true", ["--mount", "type=tmpfs,target=/x,bogus=1"]), /unexpected key "bogus"/);
    expectRefused(await sh(t.s, "true", ["--mount", "type=volume,source=v,target=/x,volume-driver=nfs"]), /box has the local driver only/);
    expectRefused(await sh(t.s, "true", ["--mount", "type=nfs,target=/x"]), /unknown mount type "nfs"/);
    expectRefused(await sh(t.s, "true", ["--tmpfs", "relative"]), /must be absolute/);
    expectRefused(await sh(t.s, "true", ["--tmpfs", "/x:bogus"]), /unknown tmpfs option "bogus"/);
    expectRefused(await sh(t.s, "true", ["--tmpfs", "/x", "-v", "/tmp:/x"]), /duplicate mount point: \/x/);
    const ps = await box(t.s, ["ps", "-aq"]);
    expect(ps.stdout).toBe("");
  });

  test("--shm-size sets /dev/shm's size; a tmpfs given at /dev/shm replaces it", async () => {
    const r = await sh(t.s, "grep ' /dev/shm ' /proc/mounts", ["--network", "none", "--shm-size", "16m"]);
    expect(r.stdout).toMatch(/size=16384k/);
    const given = await sh(t.s, "grep -c ' /dev/shm ' /proc/mounts; grep ' /dev/shm ' /proc/mounts", ["--network", "none", "--tmpfs", "/dev/shm:size=8m,exec"]);
    expect(given.stdout).toMatch(/^1\n.*size=8192k/);
    expectRefused(await sh(t.s, "true", ["--shm-size", "lots"]), /--shm-size/);
  });

  test("--volumes-from takes another container's volumes (:ro makes them read-only)", async () => {
    const vol = join(t.s.dir, "vol");
    mkdirSync(vol);
    await box(t.s, ["create", "--name", "holder", "--rootfs", copyRootfs(t.s), "-v", `${vol}:/shared`, "true"]);
    const r = await sh(t.s, "echo hi > /shared/f && cat /shared/f", ["--network", "none", "--volumes-from", "holder"]);
    expect(r.stdout).toBe("hi\n");
    const ro = await sh(t.s, "echo no > /shared/g", ["--network", "none", "--volumes-from", "holder:ro"]);
    expect(ro.code).not.toBe(0);
    expect(existsSync(join(vol, "g"))).toBe(false);
    expectRefused(await sh(t.s, "true", ["--volumes-from", "nobody"]), /no such container: nobody/);
    await box(t.s, ["rm", "holder"]);
  });
});

describe("users, names and the process: --group-add, --domainname, --oom-score-adj, --init", () => {
  test("--group-add adds groups by number and by the container's /etc/group name, also to box exec", async () => {
    // alice (1000) is in wheel (10) and audio (29) already; audio again adds nothing.
    const r = await sh(t.s, "id -G", ["--network", "none", "--group-add", "1234", "--group-add", "audio", "-u", "1000"]);
    expect(r.stdout.trim().split(" ").sort()).toEqual(["10", "1000", "1234", "29"]);
    const nogroup = await sh(t.s, "id -G", ["--network", "none", "--group-add", "nogroup", "-u", "1000"]);
    expect(nogroup.stdout.trim().split(" ").sort()).toEqual(["10", "1000", "29", "65534"]);
    expectRefused(await sh(t.s, "true", ["--group-add", "nosuchgroup"]), /unable to find group nosuchgroup/);
    const id = await runDetached(t.s, ["--network", "none", "--group-add", "4321"], "sleep 30");
    expect((await box(t.s, ["exec", id, "id", "-G"])).stdout.trim().split(" ")).toContain("4321");
    expect(await inspect(id, "{{json .HostConfig.GroupAdd}}")).toBe('["4321"]');
    await box(t.s, ["rm", "-f", id]);
  });

  test("--domainname sets the NIS domain name of the container's own UTS namespace", async () => {
    const r = await sh(t.s, "cat /proc/sys/kernel/domainname", ["--network", "none", "--domainname", "example.org"]);
    expect(r.stdout).toBe("example.org\n");
    expect(readFileSync("/proc/sys/kernel/domainname", "utf8")).not.toBe("example.org\n");
    expectRefused(await sh(t.s, "true", ["--domainname", "bad domain"]), /invalid domainname/);
  });

  test("--oom-score-adj is the payload's (and its children's); out of range is refused", async () => {
    expect((await sh(t.s, "cat /proc/self/oom_score_adj", ["--network", "none", "--oom-score-adj", "500"])).stdout).toBe("500\n");
    expectRefused(await sh(t.s, "true", ["--oom-score-adj", "1001"]), /-1000 to 1000/);
  });

  test("--init and --init=false are accepted: box's init is always PID 1", async () => {
    for (const flag of ["--init", "--init=false"]) {
      const r = await sh(t.s, "tr '\\0' ' ' < /proc/1/cmdline; echo; sleep 0.1 & wait", ["--network", "none", flag]);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain("__init");
    }
  });

  test("--label-file and --annotation; --isolation default only", async () => {
    const file = join(t.s.dir, "labels");
    writeFileSync(file, "# a comment\n\ntier=web\nowner=ops\n");
    const id = (await box(t.s, ["create", "--rootfs", copyRootfs(t.s), "--label-file", file, "-l", "owner=me", "--annotation", "org.example/a=1", "--isolation", "default", "true"])).stdout.trim();
    expect(await inspect(id, "{{json .Config.Labels}}")).toBe('{"tier":"web","owner":"me"}');
    expect(await inspect(id, "{{json .HostConfig.Annotations}}")).toBe('{"org.example/a":"1"}');
    expectRefused(await sh(t.s, "true", ["--isolation", "hyperv"]), /Linux has only "default"/);
    expectRefused(await sh(t.s, "true", ["--label-file", "/nonexistent-labels"]), /--label-file \/nonexistent-labels/);
    await box(t.s, ["rm", id]);
  });
});

describe("namespaces: --uts, --ipc, --pid, --cgroupns", () => {
  test("--uts host: the host's hostname, and no --hostname with it", async () => {
    const r = await sh(t.s, "hostname; readlink /proc/self/ns/uts", ["--network", "none", "--uts", "host"]);
    expect(r.stdout).toBe(`${readFileSync("/proc/sys/kernel/hostname", "utf8").trim()}\n${(await Bun.$`readlink /proc/self/ns/uts`.text()).trim()}\n`);
    expectRefused(await sh(t.s, "true", ["--uts", "host", "--hostname", "x"]), /conflicting options: --hostname and --uts host/);
    expectRefused(await sh(t.s, "true", ["--uts", "bogus"]), /invalid --uts/);
  });

  test("--ipc host shares the host's IPC namespace and /dev/shm; --ipc none has no /dev/shm", async () => {
    const host = (await Bun.$`readlink /proc/self/ns/ipc`.text()).trim();
    const r = await sh(t.s, "readlink /proc/self/ns/ipc", ["--network", "none", "--ipc", "host"]);
    expect(r.stdout.trim()).toBe(host);
    const own = await sh(t.s, "readlink /proc/self/ns/ipc; grep -c ' /dev/shm ' /proc/mounts", ["--network", "none", "--ipc", "none"]);
    expect(own.stdout.split("\n")[0]).not.toBe(host);
    expect(own.stdout.split("\n")[1]).toBe("0");
  });

  test("--ipc container:NAME joins a shareable container's IPC namespace and /dev/shm, and refuses a private one", async () => {
    const shared = await runDetached(t.s, ["--network", "none", "--name", "shared", "--ipc", "shareable"], "echo from-shared > /dev/shm/note; sleep 30");
    const plain = await runDetached(t.s, ["--network", "none", "--name", "plain"], "sleep 30");
    await Bun.sleep(200);
    const r = await sh(t.s, "cat /dev/shm/note; echo back > /dev/shm/reply; readlink /proc/self/ns/ipc", ["--network", "none", "--ipc", "container:shared"]);
    expect(r.stderr).toBe("");
    const [note, ns] = r.stdout.split("\n");
    expect(note).toBe("from-shared");
    const theirs = await box(t.s, ["exec", "shared", "sh", "-c", "cat /dev/shm/reply; readlink /proc/self/ns/ipc"]);
    expect(theirs.stdout).toBe(`back\n${ns}\n`);
    expect(await inspect(shared, "{{.HostConfig.IpcMode}}")).toBe("shareable");
    expectRefused(await sh(t.s, "true", ["--ipc", "container:plain"]), /cannot join IPC of a non-shareable container: plain/);
    await box(t.s, ["stop", "-t", "0", "shared"]);
    expectRefused(await sh(t.s, "true", ["--ipc", "container:shared"]), /cannot join IPC of a non running container/);
    await box(t.s, ["rm", "-f", shared, plain]);
  });

  test("--pid host: the host's processes are visible, and a stop ends the container's processes (through its cgroup) and no others", async () => {
    const host = (await Bun.$`readlink /proc/self/ns/pid`.text()).trim();
    const r = await sh(t.s, "readlink /proc/self/ns/pid; [ $$ -gt 1 ] && echo not-pid-1; ls /proc | grep -c '^[0-9]'", ["--network", "none", "--pid", "host"]);
    const [ns, notOne, count] = r.stdout.trim().split("\n");
    expect(ns).toBe(host);
    expect(notOne).toBe("not-pid-1");
    expect(Number(count)).toBeGreaterThan(10);
    const bystander = Bun.spawn(["sleep", "30"]);
    try {
      const id = await runDetached(t.s, ["--network", "none", "--pid", "host"], "sleep 31 & sleep 32 & exec sleep 33");
      const pids = async () => (await Bun.$`pgrep -x sleep -a`.nothrow().text()).split("\n").filter((l) => / 3[123]$/.test(l)).length;
      await Bun.sleep(300);
      expect(await pids()).toBe(3);
      expect(await inspect(id, "{{.HostConfig.PidMode}}")).toBe("host");
      expect((await box(t.s, ["stop", "-t", "1", id])).code).toBe(0);
      expect(await pids()).toBe(0);
      // The payload's own end (not a stop) takes what it left running too.
      const short = await runDetached(t.s, ["--network", "none", "--pid", "host"], "sleep 34 & sleep 0.2");
      await box(t.s, ["wait", short]);
      await Bun.sleep(100);
      expect((await Bun.$`pgrep -fx "sleep 34"`.nothrow().text()).trim()).toBe("");
      expect(bystander.killed || bystander.exitCode !== null).toBe(false);
      await box(t.s, ["rm", id, short]);
    } finally {
      bystander.kill();
    }
  });

  test("--pid container:NAME: its processes and the new container's see each other; it must be running", async () => {
    const holder = await runDetached(t.s, ["--network", "none", "--name", "holder"], "exec sleep 41");
    const r = await sh(t.s, "ps -o args | grep -c '^sleep 41$'; readlink /proc/self/ns/pid", ["--network", "none", "--pid", "container:holder"]);
    const theirs = await box(t.s, ["exec", holder, "readlink", "/proc/self/ns/pid"]);
    expect(r.stdout).toBe(`1\n${theirs.stdout}`);
    expectRefused(await sh(t.s, "true", ["--pid", "container:nobody"]), /no such container: nobody/);
    expectRefused(await sh(t.s, "true", ["--pid", "bogus"]), /invalid --pid/);
    await box(t.s, ["stop", "-t", "0", holder]);
    expectRefused(await sh(t.s, "true", ["--pid", "container:holder"]), /cannot join PID of a non running container/);
    await box(t.s, ["rm", holder]);
  });

  test("--cgroupns host shows the container's cgroup path as the host names it; private (the default) shows /", async () => {
    // v1: the pids hierarchy's line; v2: the one line there is.
    const line = existsSync("/sys/fs/cgroup/cgroup.controllers") ? "^0::" : ":pids:";
    const host = await sh(t.s, `grep ${line} /proc/self/cgroup`, ["--network", "none", "--cgroupns", "host"]);
    expect(host.stdout).toMatch(/:\/box\/[0-9a-f]{64}\n$/);
    const priv = await sh(t.s, `grep ${line} /proc/self/cgroup`, ["--network", "none"]);
    expect(priv.stdout).toMatch(/:\/\n$/);
    const id = (await box(t.s, ["create", "--rootfs", copyRootfs(t.s), "--cgroupns", "host", "true"])).stdout.trim();
    expect(await inspect(id, "{{.HostConfig.CgroupnsMode}}")).toBe("host");
    expectRefused(await sh(t.s, "true", ["--cgroupns", "bogus"]), /invalid --cgroupns/);
    await box(t.s, ["rm", id]);
  });
});

describe("cgroups: --cgroup-parent, --device-cgroup-rule, --memory-swappiness, --cpu-rt-*, --blkio-weight-device", () => {
  const v1 = !existsSync("/sys/fs/cgroup/cgroup.controllers");
  const hierarchy = (controller: string) => (v1 ? `/sys/fs/cgroup/${controller}` : "/sys/fs/cgroup");

  test("--cgroup-parent puts the container's cgroup below the given one", async () => {
    const parent = `box-test-parent-${process.pid}`;
    try {
      const id = await runDetached(t.s, ["--network", "none", "--cgroup-parent", `/${parent}`, "-m", "64m"], "sleep 30");
      const dir = join(hierarchy("memory"), parent, id);
      expect(existsSync(dir)).toBe(true);
      expect(readFileSync(join(dir, v1 ? "memory.limit_in_bytes" : "memory.max"), "utf8").trim()).toBe(String(64 << 20));
      expect(await inspect(id, "{{.HostConfig.CgroupParent}}")).toBe(parent);
      await box(t.s, ["rm", "-f", id]);
      expect(existsSync(dir)).toBe(false);
    } finally {
      // Made by box and, as Docker's, kept: the test made the name up, so it removes it.
      for (const c of v1 ? ["blkio", "cpu", "cpuacct", "cpuset", "devices", "freezer", "memory", "pids", "systemd", "unified"] : [""]) {
        const d = join("/sys/fs/cgroup", c, parent);
        if (existsSync(d)) rmdirSync(d);
      }
    }
    expectRefused(await sh(t.s, "true", ["--cgroup-parent", "../escape"]), /invalid --cgroup-parent/);
  });

  test("--device-cgroup-rule allows a device that Docker's list does not", async () => {
    // /dev/kmsg (1:11) is not in Docker's list; opened for writing only, it needs no capability.
    // A --rootfs directory is the container's root itself: the node is made anew each time.
    const script = "rm -f /tmp/kmsg; mknod /tmp/kmsg c 1 11 && (printf '' > /tmp/kmsg && echo opened || echo denied); rm /tmp/kmsg";
    const denied = await sh(t.s, script, ["--network", "none"]);
    expect(denied.stdout).toBe("denied\n");
    const allowed = await sh(t.s, script, ["--network", "none", "--device-cgroup-rule", "c 1:11 w"]);
    expect(allowed.stdout).toBe("opened\n");
    expectRefused(await sh(t.s, "true", ["--device-cgroup-rule", "x 1:2 r"]), /invalid --device-cgroup-rule/);
  });

  test("--memory-swappiness: written on v1, dropped with a warning on v2 (Docker's)", async () => {
    const r = await sh(t.s, v1 ? "cat /sys/fs/cgroup/memory/memory.swappiness" : "true", ["--network", "none", "--memory-swappiness", "7"]);
    if (v1) expect(r.stdout).toBe("7\n");
    else expect(r.stderr).toMatch(/warning: .*swappiness/);
    expect(r.code).toBe(0);
    expectRefused(await sh(t.s, "true", ["--memory-swappiness", "101"]), /--memory-swappiness/);
  });

  test("--cpu-rt-runtime where the host has realtime group scheduling, else a refusal", async () => {
    const has = v1 && existsSync("/sys/fs/cgroup/cpu/cpu.rt_runtime_us");
    const r = await sh(t.s, "cat /sys/fs/cgroup/cpu/cpu.rt_runtime_us /sys/fs/cgroup/cpu/cpu.rt_period_us", ["--network", "none", "--cpu-rt-period", "500000", "--cpu-rt-runtime", "10000"]);
    if (has) expect(r.stdout).toBe("10000\n500000\n");
    else expectRefused(r, /--cpu-rt/);
    expectRefused(await sh(t.s, "true", ["--cpu-rt-period", "1000", "--cpu-rt-runtime", "2000"]), /cannot be higher than --cpu-rt-period/);
  });

  test("--blkio-weight-device where the scheduler has per-device weights, else a refusal naming the file", async () => {
    const dev = readFileSync("/proc/mounts", "utf8").split("\n").map((l) => l.split(" ")[0]!).find((d) => /^\/dev\/(vd|sd|nvme)/.test(d));
    if (!dev) return;
    const file = v1 ? ["blkio.weight_device", "blkio.bfq.weight_device"].find((f) => existsSync(`/sys/fs/cgroup/blkio/${f}`)) : "io.weight";
    const r = await sh(t.s, "true", ["--network", "none", "--blkio-weight-device", `${dev}:300`]);
    if (file) expect(r.code).toBe(0);
    else expectRefused(r, /--blkio-weight-device: this host's blkio controller has no blkio.weight_device/);
    expectRefused(await sh(t.s, "true", ["--blkio-weight-device", `${dev}:5`]), /from 10 to 1000/);
  });
});

describe("the script around a container: --cidfile, --stop-timeout, -a, -q, --log-driver", () => {
  test("--cidfile gets the id; an existing file is refused before anything is made; a failed run leaves no file", async () => {
    const cid = join(t.s.dir, "cid");
    const r = await sh(t.s, "true", ["--network", "none", "--cidfile", cid]);
    expect(r.code).toBe(0);
    expect(readFileSync(cid, "utf8")).toMatch(/^[0-9a-f]{64}$/);
    expectRefused(await sh(t.s, "true", ["--cidfile", cid]), /container ID file found, make sure the other container isn't running or delete/);
    const other = join(t.s.dir, "cid2");
    const failed = await sh(t.s, "true", ["--cidfile", other, "--memory", "1"]);
    expect(failed.code).toBe(125);
    expect(existsSync(other)).toBe(false);
    expect((await box(t.s, ["ps", "-aq"])).stdout).toBe("");
  });

  test("--stop-timeout is box stop's default wait; -t still wins", async () => {
    const id = await runDetached(t.s, ["--network", "none", "--stop-timeout", "1"], "trap '' TERM; echo ready; while :; do sleep 0.1; done");
    const start = Date.now();
    expect((await box(t.s, ["stop", id])).code).toBe(0);
    const took = Date.now() - start;
    expect(took).toBeGreaterThanOrEqual(900);
    expect(took).toBeLessThan(8000);
    expect(await inspect(id, "{{.Config.StopTimeout}} {{.State.ExitCode}}")).toBe("1 137");
    await box(t.s, ["rm", id]);
    expectRefused(await sh(t.s, "true", ["--stop-timeout", "soon"]), /--stop-timeout/);
  });

  test("-a STREAM attaches only that stream; -a with -d conflicts", async () => {
    const both = "echo out; echo err >&2";
    const out = await sh(t.s, both, ["--network", "none", "-a", "stdout"]);
    expect([out.stdout, out.stderr]).toEqual(["out\n", ""]);
    const err = await sh(t.s, both, ["--network", "none", "-a", "STDERR"]);
    expect([err.stdout, err.stderr]).toEqual(["", "err\n"]);
    expectRefused(await sh(t.s, "true", ["-a", "stdout", "-d"]), /cannot specify both --attach and --detach/);
    expectRefused(await sh(t.s, "true", ["-a", "stdio"]), /valid streams are STDIN, STDOUT and STDERR/);
  });

  test("--sig-proxy=false: a SIGTERM to box run is not passed on (the payload's trap never runs)", async () => {
    const proc = Bun.spawn(boxArgs(t.s, ["run", "--rm", "--rootfs", copyRootfs(t.s), "--network", "none", "--sig-proxy=false", "sh", "-c", "trap 'echo trapped; exit 0' TERM; echo ready; while :; do sleep 0.1; done"]), { stdout: "pipe", stderr: "pipe" });
    const reader = proc.stdout.getReader();
    await readUntil(reader, "ready\n", 10000);
    proc.kill("SIGTERM");
    expect(await proc.exited).not.toBe(0);
    const rest = await readUntil(reader, "", 2000).catch(() => "");
    expect(rest).not.toContain("trapped");
  });

  test("--log-driver none: nothing is kept and box logs says why; local reads as json-file does; others are refused", async () => {
    const none = await runDetached(t.s, ["--network", "none", "--log-driver", "none"], "echo out; echo err >&2");
    await box(t.s, ["wait", none]);
    expectRefused(await box(t.s, ["logs", none]), /configured logging driver does not support reading/);
    expect(await inspect(none, "{{.HostConfig.LogConfig.Type}}")).toBe("none");
    const local = await runDetached(t.s, ["--network", "none", "--log-driver", "local", "--log-opt", "max-size=1m"], "echo kept");
    await box(t.s, ["wait", local]);
    expect((await box(t.s, ["logs", local])).stdout).toBe("kept\n");
    expectRefused(await sh(t.s, "true", ["--log-driver", "gelf"]), /invalid --log-driver "gelf"/);
    expectRefused(await sh(t.s, "true", ["--log-driver", "none", "--log-opt", "max-size=1m"]), /takes no options/);
    await box(t.s, ["rm", none, local]);
  });

  test("--detach-keys is checked for its form", async () => {
    expect((await sh(t.s, "true", ["--network", "none", "--detach-keys", "ctrl-p,ctrl-q"])).code).toBe(0);
    expectRefused(await sh(t.s, "true", ["--detach-keys", "ctrl-"]), /invalid --detach-keys/);
  });
});

test("run's help lists every flag this file drives", async () => {
  const help = (await box(t.s, ["run", "--help"])).stdout;
  for (const flag of ["--tmpfs", "--mount", "--shm-size", "--group-add", "--init", "--cidfile", "--label-file", "--annotation", "--stop-timeout", "--domainname", "--oom-score-adj", "--memory-swappiness", "--cgroup-parent", "--cgroupns", "--ipc", "--uts", "--device-cgroup-rule", "--blkio-weight-device", "--cpu-rt-runtime", "--log-driver", "--attach", "--sig-proxy", "--detach-keys", "--volumes-from", "--isolation", "--quiet"]) {
    expect(help).toContain(flag);
  }
});

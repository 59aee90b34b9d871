// Security flags (--cap-add/--cap-drop, --privileged, --security-opt no-new-privileges,
// --ulimit, --sysctl), what they change as seen from inside, and attacks from inside a default
// container that must fail while the host stays untouched.
import { describe, expect, test } from "bun:test";
import { closeSync, existsSync, openSync, readFileSync, readlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BOX, box, containerState, sha256, copyRootfs, eventually, runDetached, sh, staticHelper, storePerTest } from "../helpers/box.ts";
import { deviceRulesEnforced } from "../../src/cgroup/devices.ts";

const trySyscall = () => staticHelper("try-syscall");

/** Runs try-syscall for each call in one container; its answers, one per call. */
async function calls(flags: string[], list: string[][]): Promise<string[]> {
  const script = list.map((args) => `/t ${args.join(" ")}`).join("; ");
  const r = await sh(t.s, script, ["--network", "none", "-v", `${trySyscall()}:/t:ro`, ...flags]);
  expect(r.stderr).toBe("");
  return r.stdout.trim().split("\n");
}

// x86_64 numbers
const UNSHARE = "272";
const CLONE3 = "435";
const SOCKET = "41";
const PERSONALITY = "135";
const KEYCTL = "250";
const CLONE_NEWUSER = "0x10000000";

const t = storePerTest();

const CAPS: Record<string, number> = { CHOWN: 0, DAC_OVERRIDE: 1, FOWNER: 3, FSETID: 4, KILL: 5, SETGID: 6, SETUID: 7, SETPCAP: 8, NET_BIND_SERVICE: 10, NET_ADMIN: 12, NET_RAW: 13, SYS_CHROOT: 18, MKNOD: 27, AUDIT_WRITE: 29, SETFCAP: 31 };
const mask = (names: string[]) => names.reduce((m, n) => m | (1n << BigInt(CAPS[n]!)), 0n);
const status = (text: string, field: string) => new RegExp(`^${field}:\\s*(\\S+)$`, "m").exec(text)?.[1];
const hostStatus = () => readFileSync("/proc/self/status", "utf8");
/** Whether device rules are enforced (v1 devices cgroup, v2 BPF program), so the default set has MKNOD. */
const withMknod = deviceRulesEnforced();
const v1Devices = existsSync("/sys/fs/cgroup/devices");

describe("capabilities", () => {
  const DOCKER = ["CHOWN", "DAC_OVERRIDE", "FSETID", "FOWNER", "SETGID", "SETUID", "SETFCAP", "SETPCAP", "NET_BIND_SERVICE", "SYS_CHROOT", "KILL", "AUDIT_WRITE", "NET_RAW", ...(withMknod ? ["MKNOD"] : [])];

  test("root gets Docker's default set; a non-root user none", async () => {
    const root = await sh(t.s, "cat /proc/self/status", ["--network", "none"]);
    expect(BigInt(`0x${status(root.stdout, "CapEff")}`)).toBe(mask(DOCKER));
    expect(BigInt(`0x${status(root.stdout, "CapBnd")}`)).toBe(mask(DOCKER));
    const user = await sh(t.s, "cat /proc/self/status", ["--network", "none", "-u", "1000"]);
    expect(status(user.stdout, "CapEff")).toBe("0000000000000000");
  });

  test("--cap-drop ALL --cap-add net_admin keeps exactly that one, and it works", async () => {
    const r = await sh(t.s, "grep CapEff /proc/self/status; ip link set lo down && echo admin-ok; chown 1000 /tmp || echo chown-denied", ["--network", "none", "--cap-drop", "ALL", "--cap-add", "net_admin"]);
    expect(r.stdout.split("\n").slice(0, 3)).toEqual([`CapEff:\t${mask(["NET_ADMIN"]).toString(16).padStart(16, "0")}`, "admin-ok", "chown-denied"]);
  });

  test("--cap-drop CAP_CHOWN takes one away; --cap-add ALL --cap-drop X gives all but X", async () => {
    const one = await sh(t.s, "chown 1000 /tmp && echo chown-ok || echo chown-denied", ["--network", "none", "--cap-drop", "CAP_CHOWN"]);
    expect(one.stdout.trim()).toBe("chown-denied");
    const most = await sh(t.s, "grep CapEff /proc/self/status", ["--network", "none", "--cap-add", "ALL", "--cap-drop", "sys_admin"]);
    const eff = BigInt(`0x${status(most.stdout, "CapEff")}`);
    expect(eff & (1n << 21n)).toBe(0n);
    expect(eff & mask(["NET_ADMIN", "CHOWN"])).toBe(mask(["NET_ADMIN", "CHOWN"]));
  });

  test("--privileged: every capability box has, host devices, mounts allowed, /proc unmasked, /proc/sys writable", async () => {
    const r = await sh(t.s, "grep CapEff /proc/self/status; test -c /dev/kmsg && echo kmsg; mount -t tmpfs none /tmp && echo mounted; echo 1 > /proc/sys/kernel/shm_rmid_forced && echo sysctl-written; grep -c ' /proc/' /proc/self/mounts; test -c /dev/net/tun && echo tun", ["--network", "none", "--privileged"]);
    const lines = r.stdout.trim().split("\n");
    expect(lines.slice(0, 4)).toEqual([`CapEff:\t${status(hostStatus(), "CapBnd")}`, "kmsg", "mounted", "sysctl-written"]);
    // No masked or read-only /proc paths mounted over (Docker's --privileged).
    expect(lines[4]).toBe("0");
    // The host's /dev tree, not only its top level.
    if (existsSync("/dev/net/tun")) expect(lines[5]).toBe("tun");
    // The container's IPC namespace took the write, not the host.
    expect(readFileSync("/proc/sys/kernel/shm_rmid_forced", "utf8").trim()).toBe("0");
  });
});

describe("no-new-privileges, ulimits, sysctls", () => {
  test("--security-opt no-new-privileges sets the flag; without it, it is off", async () => {
    const on = await sh(t.s, "grep NoNewPrivs /proc/self/status", ["--network", "none", "--security-opt", "no-new-privileges"]);
    expect(on.stdout).toBe("NoNewPrivs:\t1\n");
    const off = await sh(t.s, "grep NoNewPrivs /proc/self/status", ["--network", "none", "--security-opt", "no-new-privileges:false"]);
    expect(off.stdout).toBe("NoNewPrivs:\t0\n");
  });

  test("--ulimit sets soft and hard limits, also for a non-root user", async () => {
    const r = await sh(t.s, "ulimit -n; ulimit -Hn; ulimit -c; ulimit -Hc", ["--network", "none", "--ulimit", "nofile=512:1024", "--ulimit", "core=0", "-u", "1000"]);
    expect(r.stdout).toBe("512\n1024\n0\n0\n");
  });

  test("--sysctl sets namespaced sysctls inside, and the host's stay as they were", async () => {
    const hostPort = readFileSync("/proc/sys/net/ipv4/ip_unprivileged_port_start", "utf8");
    const hostShm = readFileSync("/proc/sys/kernel/shmmax", "utf8");
    const r = await sh(t.s, "cat /proc/sys/net/ipv4/ip_unprivileged_port_start /proc/sys/kernel/shmmax", ["--sysctl", "net.ipv4.ip_unprivileged_port_start=80", "--sysctl", "kernel.shmmax=1000000"]);
    expect(r.stdout).toBe("80\n1000000\n");
    expect(readFileSync("/proc/sys/net/ipv4/ip_unprivileged_port_start", "utf8")).toBe(hostPort);
    expect(readFileSync("/proc/sys/kernel/shmmax", "utf8")).toBe(hostShm);
  });

  test("bad values are refused with one line, exit 125, before anything runs", async () => {
    const cases: Array<[string[], string]> = [
      [["--cap-add", "FOO"], `invalid --cap-add "FOO": unknown capability`],
      [["--cap-drop", "CAP_"], `invalid --cap-drop "CAP_": unknown capability`],
      [["--ulimit", "nofile=2:1"], `invalid --ulimit "nofile=2:1": the soft limit is above the hard one`],
      [["--ulimit", "nofile=abc"], `invalid --ulimit "nofile=abc": abc is no number`],
      [["--sysctl", "kernel.hostname=x"], "--sysctl kernel.hostname: not a namespaced sysctl (it would change the host)"],
      [["--sysctl", "vm.swappiness=1"], "--sysctl vm.swappiness: not a namespaced sysctl (it would change the host)"],
      [["--sysctl", "../../etc/x=1"], `invalid --sysctl "../../etc/x=1": KEY=VALUE`],
      [["--network", "host", "--sysctl", "net.ipv4.ip_forward=0"], "--sysctl net.ipv4.ip_forward: not allowed with --network host (it would change the host)"],
      [["--security-opt", "seccomp=/nonexistent.json"], "--security-opt seccomp=/nonexistent.json: open /nonexistent.json: ENOENT"],
      [["--security-opt", "apparmor=x"], `invalid --security-opt "apparmor=x": no-new-privileges[:true|false], seccomp=unconfined or seccomp=PROFILE.json`],
    ];
    for (const [flags, message] of cases) {
      const r = await box(t.s, ["run", "--rm", "--rootfs", copyRootfs(t.s), ...flags, "true"]);
      expect(r.stderr).toBe(`box: ${message}\n`);
      expect(r.code).toBe(125);
    }
    expect((await box(t.s, ["ps", "-aq"])).stdout).toBe("");
  });
});

describe("--device", () => {
  test("a host device appears at the path asked for, and its rule is in the devices cgroup (v1)", async () => {
    const r = await box(t.s, ["run", "-d", "--network", "none", "--device", "/dev/zero:/dev/zero2:r", "--device", "/dev/null:/opt/dev/null2", "--device", "/dev/kmsg:/dev/k:r", "--rootfs", copyRootfs(t.s), "sleep", "30"]);
    const id = r.stdout.trim();
    const inside = await box(t.s, ["exec", id, "sh", "-c", "ls -l /dev/zero2 /opt/dev/null2 | cut -c1; head -c 4 /dev/zero2 | wc -c; echo x > /opt/dev/null2 && echo null-ok"]);
    expect(inside.stdout).toBe("c\nc\n4\nnull-ok\n");
    if (v1Devices) {
      const list = readFileSync(`/sys/fs/cgroup/devices/box/${id}/devices.list`, "utf8");
      // kmsg (1:11) is in no default rule: readable, and nothing more.
      expect(list).toContain("c 1:11 r\n");
      expect(list).not.toContain("a *:* rwm");
    }
    expect((await box(t.s, ["rm", "-f", id])).code).toBe(0);
  });

  test("a path that is no device, and malformed values, are refused", async () => {
    for (const [value, message] of [
      ["/etc/passwd", "--device /etc/passwd: not a device node"],
      ["/dev/nonexistent", "--device /dev/nonexistent: stat /dev/nonexistent: ENOENT"],
      ["dev/null", `invalid --device "dev/null": HOST_PATH[:CONTAINER_PATH][:rwm], absolute paths`],
      ["/dev/null:relative", `invalid --device "/dev/null:relative": HOST_PATH[:CONTAINER_PATH][:rwm], absolute paths`],
      ["/dev/null:/dev/../../x", `invalid --device "/dev/null:/dev/../../x": HOST_PATH[:CONTAINER_PATH][:rwm], absolute paths`],
    ]) {
      const r = await box(t.s, ["run", "--rm", "--rootfs", copyRootfs(t.s), "--device", value!, "true"]);
      expect(r.stderr).toBe(`box: ${message}\n`);
      expect(r.code).toBe(125);
    }
  });
});

describe("seccomp", () => {
  test("Docker's default profile: namespaces, clone3, vsock, odd personalities and keyrings are refused with EPERM (ENOSYS for clone3)", async () => {
    const answers = await calls([], [[UNSHARE, CLONE_NEWUSER], [CLONE3, "0", "0"], [SOCKET, "40", "1", "0"], [SOCKET, "2", "1", "0"], [PERSONALITY, "8"], [PERSONALITY, "0x400"], [KEYCTL, "0"]]);
    expect(answers.map((a) => a.split(" ")[0] === "ok" ? "ok" : a)).toEqual(["errno 1", "errno 38", "errno 1", "ok", "ok", "errno 1", "errno 1"]);
    const status = await sh(t.s, "grep Seccomp: /proc/self/status", ["--network", "none"]);
    expect(status.stdout).toBe("Seccomp:\t2\n");
  });

  test("CAP_SYS_ADMIN brings its calls back (as Docker's profile); unconfined and --privileged load no filter", async () => {
    expect(await calls(["--cap-add", "SYS_ADMIN"], [[UNSHARE, CLONE_NEWUSER]])).toEqual(["ok 0"]);
    expect(await calls(["--security-opt", "seccomp=unconfined"], [[UNSHARE, CLONE_NEWUSER]])).toEqual(["ok 0"]);
    for (const flags of [["--security-opt", "seccomp=unconfined"], ["--privileged"]]) {
      expect((await sh(t.s, "grep Seccomp: /proc/self/status", ["--network", "none", ...flags])).stdout).toBe("Seccomp:\t0\n");
    }
  });

  test("calls of other ABIs are no way around it: i386 (int 0x80) calls end the process; a high word cannot hide AF_VSOCK", async () => {
    const r = await sh(t.s, `/t i386 20; echo rc=$?; /t ${SOCKET} 0x100000028 1 0`, ["--network", "none", "-v", `${trySyscall()}:/t:ro`]);
    // SIGSYS (31): killed, no answer printed. A kernel without the i386 ABI (ia32_emulation off)
    // answers int 0x80 with SIGSEGV (11) on the host as well: asked of the host first.
    const host = Bun.spawnSync([trySyscall(), "i386", "20"]);
    const i386 = host.signalCode !== "SIGSEGV";
    expect(r.stdout).toBe(`rc=${i386 ? 159 : 139}\nerrno 1\n`);
  });

  test("the default profile built into box is the one compiled from the source", async () => {
    const { compile, defaultFilter } = await import("../../src/security/seccomp.ts");
    const { DEFAULT_CAPABILITIES } = await import("../../src/security/capabilities.ts");
    const prebuilt = readFileSync(join(import.meta.dir, "../../dist/seccomp-default.b64"), "utf8");
    expect(compile(defaultFilter(DEFAULT_CAPABILITIES)).toString("base64")).toBe(prebuilt);
  });

  test("a process started by box exec has the container's filter", async () => {
    const r = await box(t.s, ["run", "-d", "--network", "none", "-v", `${trySyscall()}:/t:ro`, "--rootfs", copyRootfs(t.s), "sleep", "30"]);
    const id = r.stdout.trim();
    expect((await box(t.s, ["exec", id, "/t", UNSHARE, CLONE_NEWUSER])).stdout).toBe("errno 1\n");
    expect((await box(t.s, ["rm", "-f", id])).code).toBe(0);
  });

  test("a profile in Docker's JSON format: actions, errnoRet, argument checks, capability conditions", async () => {
    const profile = join(t.s.dir, "profile.json");
    writeFileSync(profile, JSON.stringify({
      defaultAction: "SCMP_ACT_ALLOW",
      syscalls: [
        { names: ["mkdir", "mkdirat"], action: "SCMP_ACT_ERRNO", errnoRet: 13 },
        { names: ["personality"], action: "SCMP_ACT_ERRNO", args: [{ index: 0, value: 8, op: "SCMP_CMP_EQ" }] },
        { names: ["keyctl"], action: "SCMP_ACT_ERRNO", errnoRet: 95, includes: { caps: ["CAP_SYS_ADMIN"] } },
      ],
    }));
    const r = await sh(t.s, `mkdir /tmp/x 2>&1; /t ${PERSONALITY} 8; /t ${PERSONALITY} 0; /t ${KEYCTL} 0 0 0 0 0`, ["--network", "none", "-v", `${trySyscall()}:/t:ro`, "--security-opt", `seccomp=${profile}`]);
    const lines = r.stdout.trim().split("\n");
    expect(lines[0]).toContain("Permission denied");
    expect(lines[1]).toBe("errno 1");
    expect(lines[2]).toStartWith("ok ");
    // Without CAP_SYS_ADMIN the keyctl rule does not apply: the default action (allow) does.
    expect(lines[3]).not.toBe("errno 95");
    const withAdmin = await sh(t.s, `/t ${KEYCTL} 0 0 0 0 0`, ["--network", "none", "-v", `${trySyscall()}:/t:ro`, "--cap-add", "SYS_ADMIN", "--security-opt", `seccomp=${profile}`]);
    expect(withAdmin.stdout).toBe("errno 95\n");
    // The first rule that matches decides; several checks of one argument are alternatives (runc's).
    writeFileSync(profile, JSON.stringify({
      defaultAction: "SCMP_ACT_ERRNO",
      syscalls: [
        { names: ["socket"], action: "SCMP_ACT_ERRNO", errnoRet: 97, args: [{ index: 0, value: 40, op: "SCMP_CMP_EQ" }] },
        { names: ["socket"], action: "SCMP_ACT_ALLOW" },
        { names: ["personality"], action: "SCMP_ACT_ALLOW", args: [{ index: 0, value: 0, op: "SCMP_CMP_EQ" }, { index: 0, value: 8, op: "SCMP_CMP_EQ" }] },
        { names: ["execve", "execveat", "fcntl", "brk", "arch_prctl", "write", "exit_group", "exit", "mmap", "munmap", "prctl", "capset", "capget", "setgroups", "setresuid", "setresgid", "prlimit64", "chdir", "rt_sigaction", "rt_sigprocmask", "set_tid_address", "getpid", "read", "close"], action: "SCMP_ACT_ALLOW" },
      ],
    }));
    const ordered = await box(t.s, ["run", "--rm", "--network", "none", "-v", `${trySyscall()}:/t:ro`, "--rootfs", copyRootfs(t.s), "--security-opt", "no-new-privileges", "--security-opt", `seccomp=${profile}`, "/t", SOCKET, "40", "1", "0"]);
    expect(ordered.stdout).toBe("errno 97\n");
    for (const [persona, answer] of [["0", "ok"], ["8", "ok"], ["0x400", "errno 1"]]) {
      const r2 = await box(t.s, ["run", "--rm", "--network", "none", "-v", `${trySyscall()}:/t:ro`, "--rootfs", copyRootfs(t.s), "--security-opt", "no-new-privileges", "--security-opt", `seccomp=${profile}`, "/t", PERSONALITY, persona!]);
      expect(r2.stdout.split(" ")[0] === "ok" ? "ok" : r2.stdout.trim()).toBe(answer!);
    }
    for (const [text, message] of [
      ["{", "seccomp profile: not valid JSON"],
      [JSON.stringify({ defaultAction: "SCMP_ACT_NOPE" }), `seccomp profile: unsupported action "SCMP_ACT_NOPE" in defaultAction`],
      [JSON.stringify({ syscalls: [{ names: ["read"], action: "SCMP_ACT_ALLOW", args: [{ index: 9, value: 0, op: "SCMP_CMP_EQ" }] }] }), "seccomp profile: bad argument check in syscalls[0]"],
      // An agent is an OCI bundle's (box oci); box run has nowhere to send the listener.
      [JSON.stringify({ syscalls: [{ names: ["mkdir"], action: "SCMP_ACT_NOTIFY" }] }), "seccomp profile: SCMP_ACT_NOTIFY in syscalls[0] needs a seccomp agent"],
    ]) {
      writeFileSync(profile, text!);
      const bad = await box(t.s, ["run", "--rm", "--rootfs", copyRootfs(t.s), "--security-opt", `seccomp=${profile}`, "true"]);
      expect(bad.stderr).toStartWith(`box: ${message}`);
      expect(bad.code).toBe(125);
    }
  });
});

describe("attacks from inside a default container fail, and the host is untouched", () => {
  test("mount, reboot, the clock, kernel modules, sysrq, /sys and /proc/sys writes are refused", async () => {
    const hostTime = Date.now();
    const r = await sh(
      t.s,
      [
        "mount -t tmpfs none /tmp 2>/dev/null && echo MOUNTED",
        "reboot -f 2>/dev/null; echo still-here",
        // busybox's date says so on stderr but exits 0: look at the clock instead.
        "date -s '2000-01-01 00:00:00' >/dev/null 2>&1; date +%Y | grep -qx 2000 && echo CLOCK-SET",
        "insmod /nonexistent.ko 2>/dev/null; modprobe dummy 2>/dev/null && echo MODULE",
        "echo b > /proc/sysrq-trigger 2>/dev/null && echo SYSRQ",
        "echo 1 > /sys/kernel/profiling 2>/dev/null && echo SYS-WRITTEN",
        "echo 1 > /proc/sys/kernel/shm_rmid_forced 2>/dev/null && echo PROCSYS-WRITTEN",
        // A new user namespace would give the payload every capability inside it (seccomp).
        "unshare -U true 2>/dev/null && echo USERNS",
        "cat /proc/kcore 2>/dev/null | head -c 1 | wc -c",
        "echo done",
      ].join("; "),
      ["--network", "none"],
    );
    expect(r.stdout).toBe("still-here\n0\ndone\n");
    expect(Math.abs(Date.now() - hostTime)).toBeLessThan(60_000);
  });

  test("PID 1 (box's init, which holds host descriptors) cannot be read through /proc/1/fd or /proc/1/environ by a root payload", async () => {
    // The names of its descriptors can be listed (the directory is root's); none can be followed.
    const script = "n=0; for fd in $(ls /proc/1/fd); do readlink /proc/1/fd/$fd >/dev/null 2>&1 && n=$((n+1)); ls /proc/1/fd/$fd/ >/dev/null 2>&1 && n=$((n+1)); done; echo $n; cat /proc/1/environ 2>/dev/null | wc -c; ls /proc/1/root/ 2>/dev/null | wc -l; ls /proc/1/fd | wc -l";
    const r = await sh(t.s, script, ["--network", "none"]);
    const [followed, environ, root, listed] = r.stdout.trim().split("\n").map(Number);
    expect([followed, environ, root]).toEqual([0, 0, 0]);
    expect(listed).toBeGreaterThan(3);
  });

  test("the host's box binary cannot be read or overwritten through /proc/1/exe (CVE-2019-5736 class)", async () => {
    // The compiled box (in development, BOX[0] is Bun itself).
    const bin = process.env.BOX_BIN ? BOX[0]! : undefined;
    const before = bin ? sha256(bin) : "";
    const r = await sh(t.s, "readlink /proc/1/exe 2>/dev/null || echo no-link; head -c 4 /proc/1/exe 2>/dev/null | wc -c; echo x > /proc/1/exe 2>/dev/null && echo WRITTEN; ls -l /proc/1/exe >/dev/null 2>&1; echo done", ["--network", "none"]);
    expect(r.stdout).toBe("no-link\n0\ndone\n");
    if (bin) expect(sha256(bin)).toBe(before);
  });

  test("a detached container's PID 1 runs a sealed copy of the watcher, not the box binary", async () => {
    const r = await box(t.s, ["run", "-d", "--network", "none", "--rootfs", copyRootfs(t.s), "sleep", "30"]);
    const id = r.stdout.trim();
    const pid = containerState(t.s, id).pid;
    // Once the payload runs, the init has handed over: give it a moment.
    await eventually(() => readlinkSync(`/proc/${pid}/exe`).includes("memfd:box-watch"), 2000);
    expect(readlinkSync(`/proc/${pid}/exe`)).toBe("/memfd:box-watch (deleted)");
    // F_GET_SEALS: seal, shrink, grow and write, all four.
    const { libc } = await import("../../src/sys/libc.ts");
    const fd = openSync(`/proc/${pid}/exe`, "r");
    try {
      expect(libc.fcntl(fd, 1034 /* F_GET_SEALS */, 0)).toBe(15);
    } finally {
      closeSync(fd);
    }
    expect((await box(t.s, ["rm", "-f", id])).code).toBe(0);
  });

  test("a block device made with mknod cannot be opened (the device rules; where none can be enforced, no CAP_MKNOD)", async () => {
    const r = await sh(t.s, "mknod /tmp/disk b 8 0 2>/dev/null; head -c 1 /tmp/disk 2>/dev/null | wc -c", ["--network", "none"]);
    expect(r.stdout).toBe("0\n");
  });

  test("box exec into a hostile container: the new process has only 0-2, a cwd inside, the container's namespaces, and nothing of the host's is readable while it starts", async () => {
    // The payload watches every process's descriptors for a path of the host's (the test store
    // lies under /tmp/box-test-*), while box exec starts processes in it.
    // It watches until told to stop (at most a minute: the VM is slow).
    const watch = "end=$(($(date +%s)+60)); while [ ! -e /tmp/stop ] && [ $(date +%s) -lt $end ]; do for d in /proc/[0-9]*/fd/* /proc/[0-9]*/cwd; do case \"$(readlink $d 2>/dev/null)\" in *box-test*) echo LEAK $d;; esac; done; done; echo watched";
    const id = await runDetached(t.s, ["--network", "none"], watch);
    try {
      const init = containerState(t.s, id).pid;
      for (let i = 0; i < 10; i++) expect((await box(t.s, ["exec", id, "true"])).code).toBe(0);
      const r = await box(t.s, ["exec", "-w", "/tmp", id, "sh", "-c", "ls /proc/self/fd | sort -n | tr '\\n' ' '; echo; readlink /proc/self/cwd; for n in ipc mnt net pid uts; do readlink /proc/self/ns/$n; done"]);
      const [fds, cwd, ...namespaces] = r.stdout.trim().split("\n");
      // 0, 1, 2, and the descriptor ls uses to read the directory.
      expect(fds!.trim().split(" ").map(Number).filter((n) => n > 3)).toEqual([]);
      expect(cwd).toBe("/tmp");
      const of = (pid: number | "self") => ["ipc", "mnt", "net", "pid", "uts"].map((n) => readlinkSync(`/proc/${pid}/ns/${n}`));
      expect(namespaces).toEqual(of(init));
      for (const [i, ns] of namespaces.entries()) expect(ns).not.toBe(of("self")[i]);
      // The payload may see the file and end (and the container with it, its processes killed)
      // before `touch` itself has exited: 137 then, as Docker's exec would say.
      expect([0, 137]).toContain((await box(t.s, ["exec", id, "touch", "/tmp/stop"])).code);
      expect((await box(t.s, ["wait", id])).stdout.trim()).toBe("0");
      expect((await box(t.s, ["logs", id])).stdout).toBe("watched\n");
    } finally {
      await box(t.s, ["rm", "-f", id]);
    }
  });

  test("only descriptors 0-2 are open in the payload; its cwd is inside the rootfs", async () => {
    const r = await sh(t.s, "ls /proc/self/fd | sort -n | tr '\\n' ' '; echo; readlink /proc/self/cwd", ["--network", "none", "-w", "/tmp"]);
    // 0, 1, 2, and the descriptor ls uses to read the directory.
    expect(r.stdout.split("\n")[0]!.trim().split(" ").map(Number).filter((n) => n > 3)).toEqual([]);
    expect(r.stdout.split("\n")[1]).toBe("/tmp");
  });
});

// Escapes a hostile image (or a careless flag) would try, each from a real container and each
// checked from the host: box's own descriptors reached through the working directory or the
// program's path (the CVE-2024-21626 class), container files box reads that are links to
// /dev/zero or FIFOs, proc and sys on symlinks, logs that grow without bound, and a box run that
// ignores SIGTERM. docs/SECURITY.md lists them with their defences.
import { describe, expect, test } from "bun:test";
import { chmodSync, closeSync, cpSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmdirSync, rmSync, symlinkSync, writeFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import { box, boxArgs, copyRootfs, importBusybox, ROOTFS, runDetached, storePerTest, type Result, type Store } from "../helpers/box.ts";

const t = storePerTest();
/** A user with no privilege on the host, for rootless runs. */
const NOBODY = 65534;

/**
 * Descriptor numbers an init or a box CLI may hold (store roots, /proc, cgroup directories, locks):
 * up to the 20s with v1's many hierarchies (a descriptor per hierarchy, twice), up to 15 with
 * cgroup v2's one (the cgroup2 VM, where each run is 20 times slower, tries no more).
 */
const V2 = existsSync("/sys/fs/cgroup/cgroup.controllers");
const FDS = Array.from({ length: V2 ? 14 : 28 }, (_, i) => i + 3);

/** A file of the host next to the store: what an escape would read. */
function hostSecret(s: Store): void {
  writeFileSync(join(s.dir, "secret"), "host-secret\n");
}

/** Whatever a container printed, it never shows the host's file. */
function notEscaped(r: Result): void {
  expect(r.stdout + r.stderr).not.toContain("host-secret");
  expect(r.stdout + r.stderr).not.toContain("escaped");
}

/** Refused before anything runs: exit 125, one line naming what was wrong. */
function refused(r: Result, text: string): void {
  expect(r.stderr.split("\n").filter(Boolean)).toHaveLength(1);
  expect(r.stderr).toContain(text);
  expect(r.code).toBe(125);
}

/** The store's rootfs with `link` (a path inside it) made a symlink to `target`. */
function linkInRootfs(s: Store, link: string, target: string): string {
  const rootfs = copyRootfs(s);
  rmSync(join(rootfs, link), { recursive: true, force: true });
  symlinkSync(target, join(rootfs, link));
  return rootfs;
}

describe("box's descriptors never reach the payload (CVE-2024-21626)", () => {
  const WORKDIRS = ["/proc/self/fd/11", "/proc/1/cwd", "/proc/thread-self/fd/7/..", "/proc/self/task/1/root/etc", "/proc/42/fd/3"];

  test("a working directory through /proc/PID/fd, cwd or root is refused: -w, an image's WORKDIR, exec -w", async () => {
    const rootfs = copyRootfs(t.s);
    for (const w of WORKDIRS) refused(await box(t.s, ["run", "--rm", "--rootfs", rootfs, "-w", w, "/bin/pwd"]), `the working directory "${w}" is invalid`);
    expect((await importBusybox(t.s, "evil", ["-c", "WORKDIR /proc/self/fd/11", "-c", 'CMD ["sh","-c","cd ../../..; cat etc/shadow"]'])).code).toBe(0);
    refused(await box(t.s, ["run", "--rm", "evil"]), `the working directory "/proc/self/fd/11" is invalid`);
    const id = await runDetached(t.s, [], "sleep 30");
    refused(await box(t.s, ["exec", "-w", "/proc/self/fd/11", id, "pwd"]), "the working directory");
    expect((await box(t.s, ["rm", "-f", id])).code).toBe(0);
    expect((await box(t.s, ["rmi", "evil"])).code).toBe(0);
  });

  // The path check above is a courtesy: the image's own link leads the working directory there
  // too, and the spawn must still reach nothing (it closes box's descriptors before chdir).
  for (const flags of [[], ["--userns=auto"]]) {
    test(`a working directory that is an image's link to /proc/self/fd/N reaches none of box's descriptors${flags.length ? ` (${flags.join(" ")})` : ""}`, async () => {
      hostSecret(t.s);
      const rootfs = copyRootfs(t.s);
      for (const fd of FDS) {
        symlinkSync(`/proc/self/fd/${fd}`, join(rootfs, `w${fd}`));
        const r = await box(t.s, ["run", "--rm", "--network", "none", ...flags, "--rootfs", rootfs, "-w", `/w${fd}`, "/bin/sh", "-c", "cat ../secret ../../secret; ls ../../..; pwd"]);
        notEscaped(r);
        expect(r.code).not.toBe(0);
      }
    });
  }

  test("rootless (a user's store, as that user): a working directory linked to /proc/self/fd/N reaches nothing of the user's", async () => {
    hostSecret(t.s);
    const rootfs = join(t.s.dir, "user-rootfs");
    cpSync(ROOTFS, rootfs, { recursive: true, verbatimSymlinks: true });
    for (const fd of FDS) symlinkSync(`/proc/self/fd/${fd}`, join(rootfs, `w${fd}`));
    Bun.spawnSync(["chown", "-R", `${NOBODY}:${NOBODY}`, t.s.dir]);
    for (const fd of FDS) {
      const r = await box(t.s, ["run", "--rm", "--rootfs", rootfs, "-w", `/w${fd}`, "/bin/sh", "-c", "cat ../secret ../../secret; ls ../../..; pwd"], { as: NOBODY });
      notEscaped(r);
      expect(r.code).not.toBe(0);
    }
  });

  test("a program path through /proc/self/fd/N runs nothing of the host's", async () => {
    hostSecret(t.s);
    writeFileSync(join(t.s.dir, "hostbin"), "#!/bin/sh\necho escaped\n");
    chmodSync(join(t.s.dir, "hostbin"), 0o755);
    const rootfs = copyRootfs(t.s);
    for (const fd of FDS) {
      const r = await box(t.s, ["run", "--rm", "--network", "none", "--rootfs", rootfs, `/proc/self/fd/${fd}/../hostbin`]);
      notEscaped(r);
      expect(r.code).not.toBe(0);
    }
  });

  test("box exec: a working directory linked to /proc/self/fd/N reaches none of box exec's descriptors", async () => {
    hostSecret(t.s);
    const rootfs = copyRootfs(t.s);
    for (const fd of FDS) symlinkSync(`/proc/self/fd/${fd}`, join(rootfs, `w${fd}`));
    const id = await runDetached(t.s, ["--network", "none"], "sleep 60");
    for (const fd of FDS) {
      const r = await box(t.s, ["exec", "-w", `/w${fd}`, id, "/bin/sh", "-c", "cat ../secret ../../secret; ls ../../..; pwd"]);
      notEscaped(r);
      expect(r.code).not.toBe(0);
    }
    expect((await box(t.s, ["rm", "-f", id])).code).toBe(0);
  });
});

/** A memory cgroup of the test's own (never one of box's or the machine's), removed after. */
let memoryCgroups = 0;

function memoryCgroup(): { dir: string; peak: () => number; remove: () => Promise<void> } {
  const v2 = existsSync("/sys/fs/cgroup/cgroup.controllers");
  const name = `box-test-mem-${process.pid}-${++memoryCgroups}`;
  const dir = v2 ? `/sys/fs/cgroup/${name}` : `/sys/fs/cgroup/memory/${name}`;
  mkdirSync(dir);
  writeFileSync(join(dir, v2 ? "memory.max" : "memory.limit_in_bytes"), String(768 << 20));
  return {
    dir,
    peak: () => Number(readFileSync(join(dir, v2 ? "memory.peak" : "memory.max_usage_in_bytes"), "utf8").trim()),
    // Once box's processes have left it: the CLI returns before its init has finished tearing the
    // container down, which takes seconds under the VM's emulated CPU.
    remove: async () => {
      for (let i = 0; i < 500 && readFileSync(join(dir, "cgroup.procs"), "utf8").trim(); i++) await Bun.sleep(20);
      rmdirSync(dir);
    },
  };
}

/** `box ARGS` run inside `cgroup` (its init stays there too: box keeps it out of the container's). */
async function boxInCgroup(s: Store, cgroup: string, args: string[]): Promise<Result> {
  const argv = boxArgs(s, args);
  const proc = Bun.spawn(["/bin/sh", "-c", `echo $$ > ${cgroup}/cgroup.procs && exec "$@"`, "sh", ...argv], { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  const timer = setTimeout(() => proc.kill("SIGKILL"), 20000);
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  clearTimeout(timer);
  return { code, stdout, stderr };
}

describe("files box reads from a container are confined, regular and bounded", () => {
  test("/etc/passwd linked to /dev/zero is never read (no names, as a missing file), and box's memory stays small", async () => {
    const rootfs = linkInRootfs(t.s, "etc/passwd", "/dev/zero");
    const cgroup = memoryCgroup();
    try {
      // (Not `id`: busybox's would read the link itself.)
      const r = await boxInCgroup(t.s, cgroup.dir, ["run", "--rm", "--network", "none", "--rootfs", rootfs, "/bin/grep", "^Uid:", "/proc/self/status"]);
      expect(r).toEqual({ code: 0, stdout: "Uid:\t0\t0\t0\t0\n", stderr: "" });
      // The CLI and the init together, Bun's runtime included; unbounded reading would pass 768 MiB and be killed.
      expect(cgroup.peak()).toBeLessThan(256 << 20);
    } finally {
      await cgroup.remove();
    }
    refused(await box(t.s, ["run", "--rm", "--network", "none", "-u", "alice", "--rootfs", rootfs, "/bin/true"]), "unable to find user alice");
  });

  test("/etc/passwd larger than the bound: one line and 125", async () => {
    const rootfs = copyRootfs(t.s);
    writeFileSync(join(rootfs, "etc/passwd"), `${"user:x:1000:1000::/home:/bin/sh\n".repeat(200_000)}`);
    refused(await box(t.s, ["run", "--rm", "--network", "none", "--rootfs", rootfs, "/bin/true"]), "the container's /etc/passwd is too large");
  });

  test("/etc/group as a FIFO: box run does not wait on it", async () => {
    const rootfs = copyRootfs(t.s);
    rmSync(join(rootfs, "etc/group"));
    Bun.spawnSync(["mkfifo", join(rootfs, "etc/group")]);
    const r = await Promise.race([box(t.s, ["run", "--rm", "--network", "none", "--rootfs", rootfs, "/bin/sh", "-c", "echo ran"]), Bun.sleep(15000).then(() => ({ code: -1, stdout: "", stderr: "timed out" }))]);
    expect(r).toEqual({ code: 0, stdout: "ran\n", stderr: "" });
  });

  test("box exec into a container whose /etc/passwd became a link to /dev/zero: at once, as root", async () => {
    const id = await runDetached(t.s, ["--network", "none"], "rm /etc/passwd; ln -s /dev/zero /etc/passwd; sleep 60");
    await Bun.sleep(300);
    expect(await box(t.s, ["exec", id, "grep", "^Uid:", "/proc/self/status"])).toEqual({ code: 0, stdout: "Uid:\t0\t0\t0\t0\n", stderr: "" });
    expect((await box(t.s, ["rm", "-f", id])).code).toBe(0);
  });

  test("a program path is looked up inside the container: /proc/self/fd/N of box's init tells nothing of the host", async () => {
    const rootfs = copyRootfs(t.s);
    for (const fd of FDS) {
      // The store root is one of these descriptors: its containers/ exists on the host.
      for (const name of ["containers", "no-such-entry"]) {
        const r = await box(t.s, ["run", "--rm", "--network", "none", "--rootfs", rootfs, `/proc/self/fd/${fd}/${name}`]);
        expect(r.code).toBe(127);
        expect(r.stderr).toContain("no such file or directory");
      }
    }
  });
});

describe("the rootfs's own proc and sys", () => {
  test("a rootfs whose /proc or /sys is a symlink is refused (the masks would miss the real ones)", async () => {
    for (const name of ["proc", "sys"]) {
      const rootfs = copyRootfs(t.s);
      mkdirSync(join(rootfs, "elsewhere"), { recursive: true });
      rmSync(join(rootfs, name), { recursive: true, force: true });
      symlinkSync("/elsewhere", join(rootfs, name));
      refused(await box(t.s, ["run", "--rm", "--network", "none", "--rootfs", rootfs, "/bin/true"]), `must be mounted on ordinary directory: /${name}`);
      rmSync(join(rootfs, name));
      mkdirSync(join(rootfs, name));
    }
  });

  test("nothing is mounted over /proc: a volume at /proc, or at an image's link to it, is refused", async () => {
    const vol = join(t.s.dir, "vol");
    mkdirSync(vol);
    const rootfs = linkInRootfs(t.s, "data", "/proc");
    for (const target of ["/proc", "/data", "/proc/self"]) refused(await box(t.s, ["run", "--rm", "--network", "none", "-v", `${vol}:${target}`, "--rootfs", rootfs, "/bin/true"]), "cannot mount over /proc");
    // lxcfs's files may cover theirs, as with runc.
    writeFileSync(join(vol, "meminfo"), "MemTotal: 1 kB\n");
    expect(await box(t.s, ["run", "--rm", "--network", "none", "-v", `${join(vol, "meminfo")}:/proc/meminfo:ro`, "--rootfs", rootfs, "/bin/cat", "/proc/meminfo"])).toEqual({ code: 0, stdout: "MemTotal: 1 kB\n", stderr: "" });
  });

  test("a working directory through a link of /proc is refused before box makes anything of it", async () => {
    const rootfs = copyRootfs(t.s);
    symlinkSync("/proc/self/fd/11", join(rootfs, "w"));
    refused(await box(t.s, ["run", "--rm", "--network", "none", "-w", "/w", "--rootfs", rootfs, "/bin/true"]), "/w leads through a link of /proc");
    // Nothing named after the host's store was made in the container's root.
    expect(existsSync(join(rootfs, t.s.root))).toBe(false);
  });
});

describe("seccomp profiles of any age", () => {
  test("a profile that refuses close_range (older allow-lists) still starts the container", async () => {
    const profile = join(t.s.dir, "no-close-range.json");
    writeFileSync(profile, JSON.stringify({ defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ names: ["close_range"], action: "SCMP_ACT_ERRNO", errnoRet: 38 }] }));
    expect(await box(t.s, ["run", "--rm", "--network", "none", "--security-opt", `seccomp=${profile}`, "--rootfs", copyRootfs(t.s), "/bin/echo", "hi"])).toEqual({ code: 0, stdout: "hi\n", stderr: "" });
  });
});

describe("bounded by default", () => {
  test("a detached container's log rotates by default (5 files of 20 MiB); max-size=-1 is unbounded", async () => {
    const bounded = await runDetached(t.s, ["--network", "none"], "true");
    const inspect = async (id: string) => JSON.parse((await box(t.s, ["inspect", id])).stdout)[0].HostConfig.LogConfig;
    expect(await inspect(bounded)).toMatchObject({ Type: "json-file", Config: { "max-size": String(20 << 20), "max-file": "5" } });
    const unbounded = await runDetached(t.s, ["--network", "none", "--log-opt", "max-size=-1"], "true");
    expect((await inspect(unbounded)).Config).toEqual({});
    refused(await box(t.s, ["run", "-d", "--rootfs", copyRootfs(t.s), "--log-opt", "max-size=-1", "--log-opt", "max-file=3", "/bin/true"]), "max-file");
    // A container that writes far past max-size keeps at most max-file files of about that size.
    const chatty = await runDetached(t.s, ["--network", "none", "--log-opt", "max-size=8k"], "i=0; while [ $i -lt 3000 ]; do echo line-$i; i=$((i+1)); done");
    expect((await box(t.s, ["wait", chatty])).stdout.trim()).toBe("0");
    const dir = join(t.s.root, "containers", chatty);
    const logs = readdirSync(dir).filter((f) => f.startsWith("json.log"));
    expect(logs.length).toBe(5);
    const total = logs.reduce((n, f) => n + readFileSync(join(dir, f)).length, 0);
    expect(total).toBeLessThan(5 * 9 * 1024);
    expect((await box(t.s, ["rm", "-f", bounded, unbounded, chatty])).code).toBe(0);
  });

  test("box logs of a log far larger than its memory: printed as read, --tail keeps N lines, box's memory stays small", async () => {
    const id = await runDetached(t.s, ["--network", "none", "--log-opt", "max-size=-1"], "echo first; echo last");
    expect((await box(t.s, ["wait", id])).stdout.trim()).toBe("0");
    // 256 MiB of entries, as a container writing for long would leave them (written here: faster).
    const log = join(t.s.root, "containers", id, "json.log");
    const line = `${JSON.stringify({ log: `${"x".repeat(200)}\n`, stream: "stdout", time: "2026-12-07T00:00:00.000000000Z" })}\n`;
    const block = Buffer.from(line.repeat(Math.floor((1 << 20) / line.length)));
    const fd = openSync(log, "w");
    for (let i = 0; i < 256; i++) writeSync(fd, block);
    writeSync(fd, `${JSON.stringify({ log: "the end\n", stream: "stderr", time: "2026-12-07T00:00:01.000000000Z" })}\n`);
    closeSync(fd);
    const cgroup = memoryCgroup();
    try {
      const r = await boxInCgroup(t.s, cgroup.dir, ["logs", "--tail", "2", id]);
      expect(r).toEqual({ code: 0, stdout: `${"x".repeat(200)}\n`, stderr: "the end\n" });
      expect(cgroup.peak()).toBeLessThan(160 << 20);
    } finally {
      await cgroup.remove();
    }
    expect((await box(t.s, ["rm", id])).code).toBe(0);
  });
});

describe("an attached box run always ends on SIGTERM", () => {
  test("SIGTERM at any moment of the start ends box run within seconds and leaves nothing", async () => {
    const rootfs = copyRootfs(t.s);
    for (const delay of [0, 2, 5, 10, 15, 20, 30, 45, 60, 90, 120, 250]) {
      const proc = Bun.spawn(boxArgs(t.s, ["run", "--rm", "--network", "none", "--rootfs", rootfs, "/bin/sleep", "30"]), { stdin: "ignore", stdout: "ignore", stderr: "pipe" });
      await Bun.sleep(delay);
      proc.kill("SIGTERM");
      const ended = await Promise.race([proc.exited.then(() => true), Bun.sleep(5000).then(() => false)]);
      if (!ended) proc.kill("SIGKILL");
      expect(ended).toBe(true);
      expect(proc.exitCode).not.toBe(0);
    }
  });
});

// What a container sees of the host, checked from inside and from the host.
import { describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { hostNamespace, sh, ROOTFS, storePerTest, copyRootfs, run } from "./helpers/box.ts";

const t = storePerTest();

describe("namespaces", () => {
  test("every namespace differs from the host's", async () => {
    const kinds = ["mnt", "uts", "ipc", "pid", "net", "cgroup", "time"];
    // $(...) runs in a forked child: on kernels before 6.x only the payload's children enter its
    // time namespace (busybox runs readlink inside the shell itself otherwise).
    const r = await sh(t.s, kinds.map((k) => `echo $(readlink /proc/self/ns/${k})`).join("; "));
    expect(r.code).toBe(0);
    const inside = r.stdout.trim().split("\n");
    kinds.forEach((k, i) => {
      expect(inside[i]).toMatch(new RegExp(`^${k}:\\[\\d+\\]$`));
      expect(inside[i]).not.toBe(hostNamespace(k));
    });
  });

  test("--network host shares the host's network namespace only", async () => {
    const r = await sh(t.s, "readlink /proc/self/ns/net; readlink /proc/self/ns/uts", ["--network", "host"]);
    expect(r.stdout.trim().split("\n")).toEqual([hostNamespace("net"), expect.not.stringMatching(hostNamespace("uts"))]);
  });
});

describe("pid 1 and processes", () => {
  test("PID 1 is box's init, the payload is its child, /proc shows only the container", async () => {
    const r = await sh(t.s, "cat /proc/1/cmdline | tr '\\0' ' '; echo; echo $$; grep PPid /proc/$$/status; ls -d /proc/[0-9]* | wc -l");
    const [cmdline, pid, ppid, count] = r.stdout.trim().split("\n");
    expect(cmdline).toContain("__init");
    expect(Number(pid)).toBeGreaterThan(1);
    expect(ppid).toMatch(/PPid:\s+1$/);
    // init, sh, and the pipeline's ls and wc
    expect(Number(count)).toBeLessThanOrEqual(4);
  });
});

describe("hostname", () => {
  test("--hostname sets the hostname, /etc/hostname and HOSTNAME", async () => {
    const r = await sh(t.s, "hostname; cat /etc/hostname; echo $HOSTNAME; grep web /etc/hosts", ["--hostname", "web"]);
    expect(r.stdout.split("\n").slice(0, 3)).toEqual(["web", "web", "web"]);
    // Docker's: on a bridge network the name resolves to the container's own address.
    const ip = (await sh(t.s, "hostname -i", ["--hostname", "web"])).stdout.trim();
    expect(r.stdout).toMatch(/^10\.\d+\.\d+\.\d+\s+web$/m);
    expect(ip).toMatch(/^10\./);
    const none = await sh(t.s, "grep web /etc/hosts", ["--hostname", "web", "--network", "none"]);
    expect(none.stdout).toMatch(/127\.0\.1\.1\s+web/);
  });

  test("the default hostname is the short id", async () => {
    const r = await sh(t.s, "hostname");
    expect(r.stdout.trim()).toMatch(/^[0-9a-f]{12}$/);
  });
});

describe("network", () => {
  test("--network none: only lo, and it is up", async () => {
    const r = await sh(t.s, "ls /sys/class/net; cat /sys/class/net/lo/flags; ping -c1 -W1 127.0.0.1 >/dev/null && echo ping-ok", ["--network", "none"]);
    expect(r.stdout.trim().split("\n")).toEqual(["lo", "0x9", "ping-ok"]);
  });

  test("--network host sees the host's links", async () => {
    const r = await sh(t.s, "ls /sys/class/net", ["--network", "host"]);
    expect(r.stdout.trim().split("\n").sort()).toEqual(readdirSync("/sys/class/net").sort());
  });
});

describe("ipc", () => {
  test("SysV IPC objects of the host are invisible", async () => {
    const made = Bun.spawnSync(["ipcmk", "-M", "4096"]).stdout.toString();
    const id = made.match(/(\d+)/)?.[1];
    expect(id).toBeDefined();
    try {
      expect(Bun.spawnSync(["ipcs", "-m"]).stdout.toString()).toContain(id!);
      const r = await sh(t.s, "cat /proc/sysvipc/shm | wc -l");
      expect(r.stdout.trim()).toBe("1"); // the header line only
    } finally {
      Bun.spawnSync(["ipcrm", "-m", id!]);
    }
  });
});

describe("filesystem", () => {
  test("host files are invisible and .. does not climb out of the rootfs", async () => {
    const marker = join(t.s.dir, "host-only-marker");
    writeFileSync(marker, "secret");
    const r = await sh(t.s, `cat ${marker}; ls /../../..; cat /../../../../${marker}; cd /..; pwd`);
    expect(r.stdout).not.toContain("secret");
    expect(r.stdout).toContain("bin");
    expect(r.stdout.trim().endsWith("/")).toBe(true);
    const listing = r.stdout.split("\n").filter((l) => l && l !== "/").sort();
    expect(listing).toEqual(expect.arrayContaining(readdirSync(ROOTFS).sort()));
  });

  test("/dev holds only the standard devices", async () => {
    const r = await sh(t.s, "ls /dev; ls -l /dev/null /dev/zero /dev/full /dev/random /dev/urandom /dev/tty; for l in ptmx fd stdin stdout stderr; do readlink /dev/$l; done");
    const [names] = [r.stdout.split("crw")[0]!.trim().split(/\s+/)];
    expect(names.sort()).toEqual(
      ["fd", "full", "mqueue", "null", "ptmx", "pts", "random", "shm", "stderr", "stdin", "stdout", "tty", "urandom", "zero"].sort(),
    );
    expect(r.stdout).toMatch(/crw-rw-rw-\s+1 root\s+root\s+1,\s+3 .* \/dev\/null/);
    expect(r.stdout).toMatch(/crw-rw-rw-\s+1 root\s+root\s+5,\s+0 .* \/dev\/tty/);
    expect(r.stdout).toContain("pts/ptmx\n/proc/self/fd\n/proc/self/fd/0\n/proc/self/fd/1\n/proc/self/fd/2");
  });

  test("kernel filesystems are mounted with Docker's options", async () => {
    const r = await sh(t.s, "cat /proc/self/mounts");
    const opts = (mp: string) => r.stdout.split("\n").find((l) => l.split(" ")[1] === mp)?.split(" ")[3] ?? "";
    expect(opts("/proc")).toMatch(/^rw,nosuid,nodev,noexec/);
    expect(opts("/sys")).toMatch(/^ro,nosuid,nodev,noexec/);
    expect(opts("/dev/pts")).toContain("ptmxmode=666");
    expect(opts("/dev/shm")).toMatch(/nosuid,nodev,noexec/);
    expect(opts("/dev/mqueue")).toMatch(/nosuid,nodev,noexec/);
  });

  test("masked /proc and /sys paths are unreadable, read-only ones unwritable", async () => {
    const masked = ["/proc/kcore", "/proc/keys", "/proc/timer_list", "/proc/sched_debug"].filter((p) => existsSync(p));
    expect(masked.length).toBeGreaterThan(0);
    const r = await sh(
      t.s,
      masked.map((p) => `echo ${p}=$(wc -c < ${p})`).join("; ") +
        "; echo firmware=$(ls -A /sys/firmware | wc -l)" +
        "; echo h > /proc/sysrq-trigger && echo sysrq-written; echo x > /proc/sys/kernel/hostname && echo sys-written; cat /proc/sys/kernel/ostype",
    );
    expect(r.stdout.trim().split("\n")).toEqual([...masked.map((p) => `${p}=0`), "firmware=0", "Linux"]);
    expect(r.stderr).toContain("Read-only file system");
    // The host still sees them: the masks live in the container's mount namespace only.
    expect(readdirSync("/sys/firmware").length).toBeGreaterThan(0);
  });

  test("/etc/resolv.conf is supplied and has no loopback resolver", async () => {
    const r = await sh(t.s, "test -f /etc/resolv.conf && echo present; grep -c '^nameserver 127' /etc/resolv.conf");
    expect(r.stdout.split("\n")[0]).toBe("present");
    expect(r.stdout.split("\n")[1]).toBe("0");
  });

  test("--read-only makes the rootfs read-only but not /dev/shm", async () => {
    const r = await sh(t.s, "touch /newfile || echo refused; touch /dev/shm/ok && echo shm-ok", ["--read-only"]);
    expect(r.stdout.trim().split("\n")).toEqual(["refused", "shm-ok"]);
    expect(existsSync(join(t.s.dir, "rootfs", "newfile"))).toBe(false);
  });

  test("the payload cannot mount: it has no CAP_SYS_ADMIN", async () => {
    const r = await sh(t.s, "mount -t tmpfs none /tmp && echo mounted; grep -c ' /tmp ' /proc/self/mounts");
    expect(r.stdout.trim()).toBe("0");
    expect(r.stderr).toContain("permission denied");
  });
});

describe("devices", () => {
  test("host devices stay out of reach even with CAP_MKNOD", async () => {
    const { deviceRulesEnforced } = await import("../src/cgroup/devices.ts");
    const r = await sh(
      t.s,
      "mknod /tmp/kvm c 10 232 && echo made; (exec 3</tmp/kvm) 2>/dev/null && echo kvm-opened; " +
        "mknod /tmp/disk b 7 0 && (exec 3</tmp/disk) 2>/dev/null && echo disk-opened; echo x > /dev/null && echo null-ok; head -c4 /dev/urandom | wc -c",
    );
    // The device rules (v1 cgroup, v2 BPF program) allow mknod but not use; without them no CAP_MKNOD.
    expect(r.stdout).toBe(deviceRulesEnforced() ? "made\nnull-ok\n4\n" : "null-ok\n4\n");
  });

  test("a rootfs whose /dev is a symlink to a host directory gets nothing created there", async () => {
    const rootfs = copyRootfs(t.s);
    const hostDir = join(t.s.dir, "host-dev");
    mkdirSync(hostDir);
    rmSync(join(rootfs, "dev"), { recursive: true });
    symlinkSync(hostDir, join(rootfs, "dev"));
    const r = await run(t.s, [], ["/bin/sh", "-c", "echo ok > /dev/null && ls /dev | wc -l"], { rootfs });
    expect(r.code).toBe(0);
    expect(Number(r.stdout.trim())).toBeGreaterThan(5);
    expect(readdirSync(hostDir)).toEqual([]);
  });
});

// User namespaces: --userns=auto, --uidmap/--gidmap. The container's root is an unprivileged
// range of host ids; the image's files show their owners inside through idmapped mounts; what
// the container writes lands on the host as the range's ids; the init is out of a tracer's reach.
import { describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { box, boxArgs, copyRootfs, removeStore, importBusybox, secretVolume, sh, storePerTest, tempStore, VOLUME_PROBES, type Store } from "../helpers/box.ts";

const t = storePerTest();

/**
 * Whether the filesystem under the test stores takes idmapped mounts (tmpfs only from Linux
 * 6.3: the cgroup2 VM's 6.1 keeps its stores on tmpfs). Where it does not, box must say so.
 */
const IDMAP_REFUSED = /^box: a user namespace needs idmapped mounts, and the filesystem of \S+ has none on this kernel \(Linux [^)]+\): .*\n$/;
const probe = (() => {
  const s = tempStore();
  try {
    const r = Bun.spawnSync(boxArgs(s, ["run", "--rm", "--network", "none", "--rootfs", copyRootfs(s), "--userns=auto", "true"]), { stderr: "pipe" });
    return { code: r.exitCode, stderr: r.stderr.toString() };
  } finally {
    removeStore(s);
  }
})();
const idmapped = probe.code === 0;

test.if(!idmapped)("without idmapped mounts under the store, a --rootfs directory is refused with one line and exit 125", () => {
  expect(probe.code).toBe(125);
  expect(probe.stderr).toMatch(IDMAP_REFUSED);
});
const POOL_START = 1_000_000_000;
const BLOCK = 65536;

/** The image "bb" (the test rootfs), imported into the store. */
async function importImage(s: Store): Promise<void> {
  expect((await importBusybox(s, "bb")).code).toBe(0);
}

/** `box run --rm FLAGS bb sh -c SCRIPT`, from the imported image (idmapped layers, or their shifted copies). */
async function shImage(s: Store, script: string, flags: string[]) {
  await importImage(s);
  return box(s, ["run", "--rm", ...flags, "bb", "/bin/sh", "-c", script]);
}

function hostUid(pid: number): number {
  return Number(/^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))![1]);
}

/** The init's children: the payload (the init itself stays in the host's user namespace). */
function payloadPid(init: number): number {
  return Number(readFileSync(`/proc/${init}/task/${init}/children`, "utf8").trim().split(" ")[0]);
}

async function inspect(s: Store, name: string): Promise<any> {
  const r = await box(s, ["inspect", name]);
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout)[0];
}

describe("--userns=auto", () => {
  test("root inside is an unprivileged range of host ids; the image's files are root's inside; writes land as the range's ids", async () => {
    await importImage(t.s);
    const d = await box(t.s, ["run", "-d", "--name", "uu", "--network", "none", "--userns=auto", "bb", "sh", "-c", "echo data > /root/f; exec sleep 60"]);
    expect(d.code).toBe(0);
    const c = await inspect(t.s, "uu");
    expect(c.HostConfig.UsernsMode).toBe("auto");
    const base = Number(c.HostConfig.IDMappings.UidMap[0].split(":")[1]);
    expect(base).toBeGreaterThanOrEqual(POOL_START);
    expect(c.HostConfig.IDMappings.UidMap).toEqual([`0:${base}:${BLOCK}`]);

    // Inside: root, its map, and the image's files owned by root, not by "nobody".
    const inside = await box(t.s, ["exec", "uu", "sh", "-c", "id -u; cat /proc/self/uid_map; stat -c %u:%g /bin/busybox /etc/hosts /; cat /root/f; touch /etc/passwd && echo edit-ok"]);
    const lines = inside.stdout.trim().split("\n");
    expect(lines[0]).toBe("0");
    expect(lines[1]!.trim().split(/\s+/).map(Number)).toEqual([0, base, BLOCK]);
    expect(lines.slice(2, 5)).toEqual(["0:0", "0:0", "0:0"]);
    expect(lines.slice(5)).toEqual(["data", "edit-ok"]);

    // On the host: the payload runs as the range's first id; its file is the range's; the
    // image's layer is untouched (still host root's).
    const init = c.State.Pid;
    expect(hostUid(init)).toBe(0);
    expect(hostUid(payloadPid(init))).toBe(base);
    const upper = join(t.s.root, "containers", c.Id, "upper");
    expect(statSync(join(upper, "root/f")).uid).toBe(base);
    expect(statSync(join(upper, "etc/passwd")).uid).toBe(base);
    expect(statSync(upper).uid).toBe(base);
    const [layer] = readdirSync(join(t.s.root, "layers")).filter((d) => !d.startsWith("."));
    expect(statSync(join(t.s.root, "layers", layer!, "bin/busybox")).uid).toBe(0);
    // Where the layers' filesystem takes no idmapped mount (the VM's tmpfs), the container sees a
    // copy of each with shifted owners, kept in its own directory; otherwise there is none.
    const shifted = join(t.s.root, "containers", c.Id, "shifted", "0");
    expect(existsSync(shifted)).toBe(!idmapped);
    if (!idmapped) expect(statSync(join(shifted, "bin/busybox")).uid).toBe(base);
    expect((await box(t.s, ["rm", "-f", "uu"])).code).toBe(0);
  });

  test("two containers get ranges that do not overlap; a range is free again once its container is removed", async () => {
    await importImage(t.s);
    const base = async (name: string) => Number((await inspect(t.s, name)).HostConfig.IDMappings.UidMap[0].split(":")[1]);
    for (const n of ["ua", "ub"]) expect((await box(t.s, ["create", "--name", n, "--network", "none", "--userns=auto", "bb", "true"])).code).toBe(0);
    const [a, b] = [await base("ua"), await base("ub")];
    expect(Math.abs(a - b)).toBeGreaterThanOrEqual(BLOCK);
    // A bigger one takes whole blocks: two, past both.
    expect((await box(t.s, ["create", "--name", "big", "--network", "none", "--userns=auto:size=70000", "bb", "true"])).code).toBe(0);
    const big = await base("big");
    expect(big).toBeGreaterThanOrEqual(Math.max(a, b) + BLOCK);
    expect((await box(t.s, ["rm", "ua"])).code).toBe(0);
    expect((await box(t.s, ["create", "--name", "uc", "--network", "none", "--userns=auto", "bb", "true"])).code).toBe(0);
    expect(await base("uc")).toBe(a);
    expect((await box(t.s, ["rm", "ub", "big", "uc"])).code).toBe(0);
  });

  test("the container's root cannot read or write the host root's files, nor reach box's init, even with CAP_SYS_PTRACE and SYS_ADMIN", async () => {
    const vol = secretVolume(t.s);
    const script = [
      ...VOLUME_PROBES,
      "ls /proc/1/fd >/dev/null 2>&1 || echo fd-denied",
      "cat /proc/1/environ >/dev/null 2>&1 || echo environ-denied",
      "mount -t tmpfs none /mnt 2>/dev/null || echo mount-denied",
      "mknod /blk b 8 0 2>/dev/null || echo mknod-denied",
      "hostname evil 2>/dev/null || echo hostname-denied",
      "nc -l -p 80 & sleep 0.2; netstat -ltn | grep -q ':80 ' && echo port80-ok",
    ].join("; ");
    const r = await shImage(t.s, script, ["--network", "none", "--userns=auto", "--cap-add", "SYS_PTRACE", "--cap-add", "SYS_ADMIN", "-v", `${vol}:/vol`]);
    expect(r.stdout.trim().split("\n")).toEqual(["read-denied", "write-denied", "fd-denied", "environ-denied", "mount-denied", "mknod-denied", "hostname-denied", "port80-ok"]);
    // No warning: the user namespace keeps the init out of reach.
    expect(r.stderr).toBe("");
    expect(readFileSync(join(vol, "secret"), "utf8")).toBe("host-secret\n");
    // Without one, box says what CAP_SYS_PTRACE gives away.
    const warned = await sh(t.s, "true", ["--network", "none", "--cap-add", "SYS_PTRACE"]);
    expect(warned.stderr).toMatch(/^box: warning: with CAP_SYS_PTRACE .*--userns=auto/);
  });

  test.if(idmapped)("a --rootfs directory is idmapped too: its files are root's inside, and root's writes are host root's", async () => {
    const rootfs = copyRootfs(t.s);
    const r = await sh(t.s, "stat -c %u /bin/busybox; cat /proc/self/uid_map; touch /made-inside", ["--network", "none", "--userns=auto"]);
    const [owner, map] = r.stdout.trim().split("\n");
    expect(owner).toBe("0");
    expect(Number(map!.trim().split(/\s+/)[1])).toBeGreaterThanOrEqual(POOL_START);
    expect(statSync(join(rootfs, "made-inside")).uid).toBe(0);
  });
});

describe("--uidmap / --gidmap", () => {
  test("the maps as given; the container's user must be mapped", async () => {
    const r = await shImage(t.s, "cat /proc/self/uid_map /proc/self/gid_map; id", ["--network", "none", "--uidmap", "0:300000000:2000", "--gidmap", "0:300000000:1000", "--gidmap", "1000:300005000:10", "-u", "1000:1000"]);
    expect(r.stderr).toBe("");
    const [uidMap, gid1, gid2, id] = r.stdout.trim().split("\n");
    expect(uidMap!.trim().split(/\s+/)).toEqual(["0", "300000000", "2000"]);
    expect(gid1!.trim().split(/\s+/)).toEqual(["0", "300000000", "1000"]);
    expect(gid2!.trim().split(/\s+/)).toEqual(["1000", "300005000", "10"]);
    expect(id).toMatch(/^uid=1000\b.* gid=1000\b/);
    const unmapped = await box(t.s, ["run", "--rm", "--network", "none", "--uidmap", "0:300000000:100", "-u", "5000", "bb", "true"]);
    expect(unmapped.code).toBe(125);
    expect(unmapped.stderr).toBe("box: the user's uid 5000 is not mapped in the container's user namespace (--uidmap)\n");
  });

  test("bad values are refused with one line and exit 125, and leave nothing", async () => {
    const bad: [string[], RegExp][] = [
      [["--userns=bogus"], /invalid --userns "bogus"/],
      [["--userns=auto:size=0"], /the size must be/],
      [["--uidmap", "0:1"], /expected CONTAINER:HOST:SIZE/],
      [["--uidmap", "0:100000:0"], /at least 1/],
      [["--uidmap", "0:4294967290:100"], /past id/],
      [["--uidmap", "0:100000:10", "--uidmap", "5:200000:10"], /overlap on the container side/],
      [["--uidmap", "0:100000:10", "--uidmap", "20:100005:10"], /overlap on the host side/],
      [["--gidmap", "0:100000:10"], /--gidmap needs --uidmap/],
      [["--userns=auto", "--uidmap", "0:100000:10"], /cannot be used with --uidmap/],
      [["--userns=auto", "--privileged"], /conflicting options: --privileged/],
    ];
    for (const [flags, message] of bad) {
      const r = await sh(t.s, "true", ["--network", "none", ...flags]);
      expect(r.code).toBe(125);
      expect(r.stderr).toMatch(message);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
    }
  });
});

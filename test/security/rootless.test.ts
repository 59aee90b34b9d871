// Rootless: a user other than root runs box. The container's init and everything in it are in
// a user namespace that maps root to that user (the one id an unprivileged user may map without
// a setuid helper), with no cgroups of its own and no network but its own lo.
import { describe, expect, test } from "bun:test";
import { chmodSync, chownSync, closeSync, cpSync, openSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { fsetxattr } from "../../src/sys/fs.ts";
import { join } from "node:path";
import { box, ROOTFS, secretVolume, storePerTest, VOLUME_PROBES, type Store } from "../helpers/box.ts";
import { dockerSaveDir, layerTar } from "../helpers/layers.ts";

const t = storePerTest();
/** nobody: a user with no privilege on the host. */
const USER = 65534;

/** The store and a copy of the test rootfs, both the user's. */
function userStore(s: Store): string {
  chownSync(s.dir, USER, USER);
  const rootfs = join(s.dir, "rootfs");
  cpSync(ROOTFS, rootfs, { recursive: true, verbatimSymlinks: true });
  Bun.spawnSync(["chown", "-R", `${USER}:${USER}`, rootfs]);
  return rootfs;
}

const asUser = (s: Store, args: string[]) => box(s, args, { as: USER });

/** Whether the filesystem of `dir` keeps user.* extended attributes. */
function userXattrs(dir: string): boolean {
  const probe = join(dir, ".xattr-probe");
  writeFileSync(probe, "");
  const fd = openSync(probe, "r");
  try {
    fsetxattr(fd, "user.box-probe", "1", probe);
    return true;
  } catch {
    return false;
  } finally {
    closeSync(fd);
    rmSync(probe);
  }
}

function status(pid: number, field: string): string {
  return new RegExp(`^${field}:\\s*(.*)$`, "m").exec(readFileSync(`/proc/${pid}/status`, "utf8"))![1]!.trim();
}

describe("rootless", () => {
  test("root inside is the user outside: the payload has no privilege over the host's files, and the init none over the host", async () => {
    const rootfs = userStore(t.s);
    const vol = secretVolume(t.s);
    const script = [
      "id -u",
      "cat /proc/self/uid_map",
      ...VOLUME_PROBES,
      "mknod /tmp/blk b 8 0 2>/dev/null || echo mknod-denied",
      "echo made > /made-inside",
      "hostname",
    ].join("; ");
    const r = await asUser(t.s, ["run", "--rm", "--hostname", "inside", "-v", `${vol}:/vol`, "--rootfs", rootfs, "/bin/sh", "-c", script]);
    expect(r.stderr).toBe("");
    const lines = r.stdout.trim().split("\n");
    expect(lines[0]).toBe("0");
    expect(lines[1]!.trim().split(/\s+/)).toEqual(["0", String(USER), "1"]);
    expect(lines.slice(2)).toEqual(["read-denied", "write-denied", "mknod-denied", "inside"]);
    expect(readFileSync(join(vol, "secret"), "utf8")).toBe("host-secret\n");
    // What root inside writes is the user's on the host.
    expect(statSync(join(rootfs, "made-inside")).uid).toBe(USER);

    // Detached: the init and the payload run as the user, with no capability in the host's user namespace.
    const d = await asUser(t.s, ["run", "-d", "--name", "bg", "--rootfs", rootfs, "sleep", "30"]);
    expect(d.code).toBe(0);
    const state = JSON.parse(readFileSync(join(t.s.runroot, "containers", d.stdout.trim(), "state.json"), "utf8"));
    const payload = Number(readFileSync(`/proc/${state.pid}/task/${state.pid}/children`, "utf8").trim().split(" ")[0]);
    for (const pid of [state.pid, payload]) {
      expect(status(pid, "Uid").split(/\s+/)[0]).toBe(String(USER));
      expect(readFileSync(`/proc/${pid}/uid_map`, "utf8").trim().split(/\s+/)).toEqual(["0", String(USER), "1"]);
    }
    expect((await asUser(t.s, ["rm", "-f", "bg"])).code).toBe(0);
  });

  test("an image of the user's: import, run (overlay in the user namespace), -d, ps, logs, exec, stop, rm", async () => {
    const rootfs = userStore(t.s);
    // As Fedora's images have them: directories without write permission, which the user (their
    // owner, with no CAP_DAC_OVERRIDE) must still be able to remove.
    chmodSync(join(rootfs, "usr/bin"), 0o555);
    const tar = join(t.s.dir, "image.tar");
    expect(Bun.spawnSync(["tar", "-C", rootfs, "-cf", tar, "."]).exitCode).toBe(0);
    chownSync(tar, USER, USER);
    expect((await asUser(t.s, ["import", tar, "bb"])).code).toBe(0);
    const once = await asUser(t.s, ["run", "--rm", "bb", "sh", "-c", "stat -c %u:%g /bin/busybox; touch /etc/passwd && echo edit-ok; nc -l -p 80 & sleep 0.2; netstat -ltn | grep -c ':80 '"]);
    expect(once.stderr).toBe("");
    expect(once.stdout).toBe("0:0\nedit-ok\n1\n");

    const d = await asUser(t.s, ["run", "-d", "--name", "web", "bb", "sh", "-c", "echo data > /root/f; mkdir /locked && touch /locked/f && chmod 555 /locked; echo started; exec sleep 30"]);
    try {
      expect(d.stderr).toBe("");
      expect((await asUser(t.s, ["ps", "--format", "{{.Names}} {{.Status}}"])).stdout).toMatch(/^web Up /);
      // In the container's pid namespace, whose PID 1 is box's init.
      const exec = await asUser(t.s, ["exec", "web", "sh", "-c", "id -u; tr '\\0' ' ' < /proc/1/cmdline; echo"]);
      expect(exec.stderr).toBe("");
      expect(exec.stdout).toBe("0\nbox __init \n");
      expect((await asUser(t.s, ["exec", "-u", "1000", "web", "true"])).stderr).toBe("box: rootless: user 1000 (1000:1000) does not exist in the container, whose only user is root (you, outside)\n");
      expect((await asUser(t.s, ["logs", "web"])).stdout).toBe("started\n");
      // Without a cgroup of its own, what needs one says so.
      expect((await asUser(t.s, ["pause", "web"])).stderr).toBe("box: rootless: box pause needs cgroups, which a rootless box does not use yet\n");
      expect((await asUser(t.s, ["stop", "-t", "1", "web"])).code).toBe(0);
      expect((await asUser(t.s, ["ps", "-a", "--format", "{{.Status}}"])).stdout).toMatch(/^Exited \(143\)/);
      // The upper layer holds what root inside wrote, as the user's files.
      const id = (await asUser(t.s, ["inspect", "-f", "{{.Id}}", "web"])).stdout.trim();
      expect(statSync(join(t.s.root, "containers", id, "upper/root/f")).uid).toBe(USER);
      expect((await asUser(t.s, ["rm", "web"])).stderr).toBe("");
      expect((await asUser(t.s, ["rmi", "bb"])).stderr).toBe("");
    } finally {
      await asUser(t.s, ["rm", "-f", "web"]);
    }
  });

  test("a layered image of the user's: load, whiteouts and opaque directories (user.* xattrs), save", async () => {
    userStore(t.s);
    const tar = join(t.s.dir, "bb.tar");
    Bun.spawnSync(["tar", "-C", ROOTFS, "-cf", tar, "."]);
    const layers = [tar, layerTar(join(t.s.dir, "l1.tar"), { "a/1": "one", "a/2": "two", "b/x": "x" }), layerTar(join(t.s.dir, "l2.tar"), { "a/.wh.1": "", "b/.wh..wh..opq": "", "b/y": "y" })];
    const dir = join(t.s.dir, "save");
    dockerSaveDir(dir, [{ layers, tags: ["layered"] }]);
    Bun.spawnSync(["chown", "-R", `${USER}:${USER}`, t.s.dir]);
    const loaded = await asUser(t.s, ["load", "-i", dir]);
    if (!userXattrs(t.s.dir)) {
      // tmpfs before Linux 6.6 (the cgroup2 VM's stores): no user.* xattrs, so no opaque directory.
      expect([loaded.code, loaded.stderr]).toEqual([125, `box: the image has an opaque directory ("/b"), which needs the user.overlay.opaque extended attribute: the store's filesystem keeps none (tmpfs before Linux 6.6 has no user.* attributes)\n`]);
      return;
    }
    expect([loaded.code, loaded.stderr, loaded.stdout]).toEqual([0, "", "Loaded image: layered:latest\n"]);
    const r = await asUser(t.s, ["run", "--rm", "layered", "sh", "-c", "ls /a; ls /b; rm /a/2; ls /a | wc -l"]);
    expect([r.stdout, r.stderr]).toEqual(["2\ny\n0\n", ""]);
    const saved = await asUser(t.s, ["save", "-o", join(t.s.dir, "out.tar"), "layered"]);
    expect([saved.code, saved.stderr]).toEqual([0, ""]);
    expect(statSync(join(t.s.dir, "out.tar")).uid).toBe(USER);
  });

  test("what needs root is refused with one line and exit 125, and leaves nothing", async () => {
    const rootfs = userStore(t.s);
    const cases: [string[], string][] = [
      [["-m", "64m"], "box: rootless: --memory needs cgroups, which a rootless box does not use yet\n"],
      [["-p", "8080:80"], "box: rootless: --publish needs a bridge network, which a rootless box cannot make yet\n"],
      [["--network", "host"], "box: rootless: --network host needs root (a rootless box has no user-mode networking yet); its containers have --network none\n"],
      [["--privileged"], "box: rootless: --privileged needs root\n"],
      [["--userns=auto"], "box: rootless: --userns needs root (a rootless container's user namespace maps root to you)\n"],
      [["-u", "1000"], "box: rootless: user 1000 (1000:1000) does not exist in the container, whose only user is root (you, outside)\n"],
    ];
    for (const [flags, message] of cases) {
      const r = await asUser(t.s, ["run", "--rm", ...flags, "--rootfs", rootfs, "true"]);
      expect(r.stderr).toBe(message);
      expect(r.code).toBe(125);
    }
    expect((await asUser(t.s, ["ps", "-aq"])).stdout).toBe("");
  });
});

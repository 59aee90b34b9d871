// Builds a busybox rootfs from Debian's busybox-static: the container image of the tests.
import { chmodSync, copyFileSync, existsSync, mkdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from "node:fs";

const BUSYBOX = "/bin/busybox";

export const PASSWD = [
  "root:x:0:0:root:/root:/bin/sh",
  "alice:x:1000:1000:alice:/home/alice:/bin/sh",
  "nobody:x:65534:65534:nobody:/nonexistent:/bin/false",
  "",
].join("\n");

export const GROUP = ["root:x:0:", "wheel:x:10:alice", "audio:x:29:alice", "alice:x:1000:", "nogroup:x:65534:", ""].join("\n");

/** Creates (once) a busybox rootfs at `dir` and returns it. */
export function busyboxRootfs(dir: string): string {
  if (existsSync(`${dir}/bin/busybox`)) return dir;
  if (!existsSync(BUSYBOX)) throw new Error(`${BUSYBOX} missing: apt-get install busybox-static`);
  const tmp = `${dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  for (const d of ["bin", "etc", "proc", "sys", "dev", "root", "home/alice", "usr/bin", "var"]) mkdirSync(`${tmp}/${d}`, { recursive: true });
  mkdirSync(`${tmp}/tmp`, { mode: 0o1777 });
  chmodSync(`${tmp}/tmp`, 0o1777);
  copyFileSync(BUSYBOX, `${tmp}/bin/busybox`);
  chmodSync(`${tmp}/bin/busybox`, 0o755);
  const applets = Bun.spawnSync([BUSYBOX, "--list"]).stdout.toString().split("\n").filter(Boolean);
  for (const a of applets) if (a !== "busybox") symlinkSync("busybox", `${tmp}/bin/${a}`);
  writeFileSync(`${tmp}/etc/passwd`, PASSWD);
  writeFileSync(`${tmp}/etc/group`, GROUP);
  // As in real images: box bind-mounts its own over these.
  for (const f of ["hostname", "hosts", "resolv.conf"]) writeFileSync(`${tmp}/etc/${f}`, "");
  rmSync(dir, { recursive: true, force: true });
  renameSync(tmp, dir);
  return dir;
}

// Builds the container's filesystem inside the init's private mount namespace, then
// pivot_roots into it. Nothing mounted here is visible on the host, and it all goes away
// with the namespace, so no mount can leak whatever happens to the processes.
import { chmod, exists, lstat, mkdir, mkdirs, readdir, stat, symlink, touch, unlink, writeFile } from "../sys/fs.ts";
import { dirname } from "../path.ts";
import {
  MNT_DETACH, MS_BIND, MS_NODEV, MS_NOEXEC, MS_NOSUID, MS_PRIVATE, MS_RDONLY, MS_REC, MS_REMOUNT,
  MS_STRICTATIME, S_IFBLK, S_IFCHR,
} from "../sys/constants.ts";
import { chdir, IdmapUnsupported, idmappedBind, makeReadOnlyRecursive, mknod, mount, pivotRoot, umount } from "../sys/mount.ts";
import { shiftedLayer } from "./shifted.ts";
import { hostId, initIds, ownByContainerRoot, type UsernsSpec } from "../security/userns.ts";
import type { ContainerPaths, ContainerSpec } from "../container/spec.ts";
import { UserError } from "../container/errors.ts";
import { secureJoin } from "./securejoin.ts";
import { ETC_FILES, etcFiles } from "../container/etc-files.ts";

const NO_EXEC_SUID_DEV = MS_NOSUID | MS_NODEV | MS_NOEXEC;
export const TTY_GID = 5;

/** The kernel filesystems every container gets (as runc's default spec). */
const SPECIAL_MOUNTS: { target: string; fstype: string; flags: number; data?: string }[] = [
  { target: "/proc", fstype: "proc", flags: NO_EXEC_SUID_DEV },
  { target: "/dev", fstype: "tmpfs", flags: MS_NOSUID | MS_STRICTATIME, data: "mode=755,size=65536k" },
  { target: "/dev/pts", fstype: "devpts", flags: MS_NOSUID | MS_NOEXEC, data: "newinstance,ptmxmode=0666,mode=0620,gid=5" },
  { target: "/dev/shm", fstype: "tmpfs", flags: NO_EXEC_SUID_DEV, data: "mode=1777,size=65536k" },
  { target: "/dev/mqueue", fstype: "mqueue", flags: NO_EXEC_SUID_DEV },
  { target: "/sys", fstype: "sysfs", flags: NO_EXEC_SUID_DEV | MS_RDONLY },
];

/** The only device nodes in a container's /dev: [name, major, minor]. */
const DEVICES: [string, number, number][] = [
  ["null", 1, 3], ["zero", 1, 5], ["full", 1, 7], ["random", 1, 8], ["urandom", 1, 9], ["tty", 5, 0],
];

const DEV_LINKS: [string, string][] = [
  ["/proc/self/fd", "fd"], ["/proc/self/fd/0", "stdin"], ["/proc/self/fd/1", "stdout"],
  ["/proc/self/fd/2", "stderr"], ["pts/ptmx", "ptmx"],
];

/** Docker's defaults: unreadable inside a container. */
export const MASKED_PATHS = [
  "/proc/asound", "/proc/acpi", "/proc/interrupts", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
  "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware",
  "/sys/devices/virtual/powercap",
];

/** Docker's defaults: readable, not writable. */
export const READONLY_PATHS = ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"];

function ensureDir(path: string): void {
  mkdirs(path, 0o755);
}

/** Makes an empty file or dir at a mount target; `shown` is the path as the container sees it. */
function ensureTarget(target: string, directory: boolean, shown: string): void {
  if (exists(target)) {
    if (stat(target).isDirectory() !== directory) {
      throw new UserError(`cannot mount ${directory ? "a directory" : "a file"} on ${shown}: it is ${directory ? "not a directory" : "a directory"} in the container`);
    }
    return;
  }
  if (directory) return ensureDir(target);
  ensureDir(dirname(target));
  touch(target, 0o644);
}

function bind(source: string, target: string, readOnly: boolean): void {
  mount(source, target, null, MS_BIND | MS_REC);
  // Recursive, as Docker 25+: a mount below a :ro volume's source must not stay writable.
  if (readOnly) makeReadOnlyRecursive(target);
}

/** The container's own user namespace: its descriptor, its maps. */
export interface UserNamespace {
  fd: number;
  spec: UsernsSpec;
}

/**
 * With a user namespace the image's files are seen through idmapped mounts: a file of host uid
 * 0 in a layer (or the rootfs dir) is owned by the container's root inside. The upper dir is
 * not idmapped: what the container writes lands there as its host ids (as with Docker's
 * userns-remap), so a copied-up file keeps the owner it had inside.
 */
function mountRootfs(spec: ContainerSpec, paths: ContainerPaths, at: string, userns: UserNamespace | undefined): void {
  if (spec.rootfs.kind === "dir") {
    if (userns) idmappedBind(spec.rootfs.path, at, userns.fd, true);
    else mount(spec.rootfs.path, at, null, MS_BIND | MS_REC);
    return;
  }
  let lower = spec.rootfs.layerDirs;
  if (userns) {
    // Short mount points on the run dir's tmpfs, which only this mount namespace sees.
    lower = lower.map((dir, i) => {
      const point = `${paths.runDir}/l${i}`;
      mkdir(point, 0o700);
      try {
        idmappedBind(dir, point, userns.fd, false);
        return point;
      } catch (e) {
        if (!(e instanceof IdmapUnsupported)) throw e;
        return shiftedLayer(dir, `${paths.dir}/shifted/${i}`, userns.spec);
      }
    });
  }
  // Rootless, the layers' opaque markers are user.* xattrs (extraction could set no trusted.*).
  const common = `upperdir=${paths.dir}/upper,workdir=${paths.dir}/work${spec.rootless ? ",userxattr" : ""}`;
  let options = `lowerdir=${lower.join(":")},${common}`;
  if (options.length < MOUNT_DATA_MAX) return mount("overlay", at, "overlay", 0, options);
  // mount(2) takes one page of options: ~45 layers by their store paths. Short names relative to
  // the run dir (symlinks on its tmpfs, which overlayfs follows once, at mount) fit its maximum
  // of 500 layers; the upper and work paths stay absolute.
  lower = lower.map((dir, i) => {
    const link = `s${i}`;
    symlink(dir, `${paths.runDir}/${link}`);
    return link;
  });
  options = `lowerdir=${lower.join(":")},${common}`;
  if (options.length >= MOUNT_DATA_MAX) throw new UserError(`image ${spec.rootfs.ref} has ${lower.length} layers, more than overlayfs can stack`);
  chdir(paths.runDir);
  try {
    mount("overlay", at, "overlay", 0, options);
  } finally {
    chdir("/");
  }
}

/** mount(2)'s data is one page, its last byte the terminating NUL. */
const MOUNT_DATA_MAX = 4095;

/**
 * /dev's tmpfs belongs to the container's root, and devpts's group tty is the container's (none,
 * when its user namespace leaves gid 5 out: the kernel refuses the option then).
 */
function specialMountData(m: (typeof SPECIAL_MOUNTS)[number], ids: UsernsSpec | undefined): string | undefined {
  if (!ids) return m.data;
  const uid = hostId(ids.uidMap, 0);
  const gid = hostId(ids.gidMap, 0);
  if (m.fstype === "tmpfs" && m.target === "/dev" && uid !== undefined && gid !== undefined) return `${m.data},uid=${uid},gid=${gid}`;
  if (m.fstype === "devpts") {
    const tty = hostId(ids.gidMap, TTY_GID);
    return m.data!.replace(/,gid=\d+/, tty === undefined ? "" : `,gid=${tty}`);
  }
  return m.data;
}

/**
 * `dev` is the container's /dev as resolved inside the rootfs (never through a host symlink).
 * Rootless, the kernel makes no device node in a user namespace: the host's are bound instead.
 */
function populateDev(dev: string, tty: boolean, rootless: boolean): void {
  for (const [name, major, minor] of DEVICES) {
    const path = `${dev}/${name}`;
    if (rootless) {
      touch(path, 0o666);
      mount(`/dev/${name}`, path, null, MS_BIND);
      continue;
    }
    mknod(path, S_IFCHR | 0o666, major, minor);
    chmod(path, 0o666);
  }
  for (const [target, name] of DEV_LINKS) symlink(target, `${dev}/${name}`);
  // The init binds the payload's pty here once devpts can give it one.
  if (tty) touch(`${dev}/console`, 0o600);
}

/**
 * A tmpfs over the container's run dir, seen only in this mount namespace, holds the rootfs
 * mount point and the /etc files: nothing to write to the host's disk, nothing to remove.
 */
function stage(spec: ContainerSpec, runDir: string, peerHosts: string[], userns: UserNamespace | undefined): void {
  mount("tmpfs", runDir, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=700,size=256k");
  mkdir(`${runDir}/rootfs`, 0o700);
  for (const [name, text] of Object.entries(etcFiles(spec, peerHosts))) {
    writeFile(`${runDir}/${name}`, text, { mode: 0o644 });
    // The container's root may edit its /etc/hosts, as anywhere.
    if (userns) ownByContainerRoot(`${runDir}/${name}`, userns.spec);
  }
}

/**
 * box (host root) cannot create files on an idmapped mount: the kernel has no id for it there
 * (EOVERFLOW). So for a --rootfs directory the mount points that buildRootfs would make in it
 * are made first, through a plain bind, in the same order (one that will end up in a volume or
 * on /dev's tmpfs is made there again, and this one stays an empty, unused entry).
 */
function makeMountPointsFirst(spec: ContainerSpec, source: string, root: string): void {
  mount(source, root, null, MS_BIND | MS_REC);
  try {
    for (const m of SPECIAL_MOUNTS) ensureDir(secureJoin(root, m.target));
    for (const d of spec.devices ?? []) ensureDir(dirname(secureJoin(root, d.target)));
    for (const v of spec.volumes) ensureTarget(secureJoin(root, v.target), stat(v.source).isDirectory(), v.target);
    for (const f of ETC_FILES) ensureTarget(secureJoin(root, `/etc/${f}`), false, `/etc/${f}`);
    const workdir = secureJoin(root, spec.workdir);
    if (!exists(workdir)) ensureDir(workdir);
  } finally {
    umount(root, MNT_DETACH);
  }
}

export function buildRootfs(spec: ContainerSpec, paths: ContainerPaths, peerHosts: string[] = [], userns?: UserNamespace): void {
  // Nothing below may propagate back to the host.
  mount(null, "/", null, MS_REC | MS_PRIVATE);
  stage(spec, paths.runDir, peerHosts, userns);
  const root = `${paths.runDir}/rootfs`;
  if (userns && spec.rootfs.kind === "dir") makeMountPointsFirst(spec, spec.rootfs.path, root);
  mountRootfs(spec, paths, root, userns);
  for (const m of SPECIAL_MOUNTS) {
    const target = secureJoin(root, m.target);
    ensureDir(target);
    // --privileged: /sys writable, as Docker's.
    const flags = spec.privileged && m.fstype === "sysfs" ? m.flags & ~MS_RDONLY : m.flags;
    mount(m.fstype, target, m.fstype, flags, specialMountData(m, initIds(spec)));
  }
  populateDev(secureJoin(root, "/dev"), spec.tty, spec.rootless === true);
  if (spec.privileged) copyHostDevices(secureJoin(root, "/dev"));
  for (const d of spec.devices ?? []) {
    // Resolved inside the rootfs: a target under a symlink of the image stays in it.
    const target = secureJoin(root, d.target);
    ensureDir(dirname(target));
    // One that is there (a node --privileged copied, the image's own) gives way, as in Docker.
    if (exists(target) || isSymlink(target)) unlink(target);
    mknod(target, (d.type === "c" ? S_IFCHR : S_IFBLK) | d.mode, d.major, d.minor);
    chmod(target, d.mode);
  }
  for (const v of spec.volumes) {
    const target = secureJoin(root, v.target);
    ensureTarget(target, stat(v.source).isDirectory(), v.target);
    bind(v.source, target, v.readOnly);
  }
  for (const f of ETC_FILES) {
    const target = secureJoin(root, `/etc/${f}`);
    ensureTarget(target, false, `/etc/${f}`);
    bind(`${paths.runDir}/${f}`, target, false);
  }
  // Created here, before a --read-only remount, and inside a volume if it lies in one (Docker).
  const workdir = secureJoin(root, spec.workdir);
  if (exists(workdir) && !stat(workdir).isDirectory()) {
    throw new UserError(`the working directory ${spec.workdir} is not a directory in the container`);
  }
  if (!exists(workdir)) {
    ensureDir(workdir);
    if (userns) ownByContainerRoot(workdir, userns.spec);
  }
  chdir(root);
  pivotRoot(".", ".");
  // The old root now sits on top of the new one; detach it so the host is out of reach.
  umount(".", MNT_DETACH);
  chdir("/");
  // Written through the container's own /proc, so they land in its namespaces; before /proc/sys
  // turns read-only. The keys were checked to be namespaced ones when the spec was built.
  for (const [path, value] of Object.entries(spec.sysctls ?? {})) writeFile(`/proc/sys/${path}`, value);
  if (!spec.privileged) {
    for (const p of MASKED_PATHS) mask(p);
    for (const p of READONLY_PATHS) {
      if (exists(p)) bind(p, p, true);
    }
  }
  if (spec.readOnly) mount(null, "/", null, MS_BIND | MS_REMOUNT | MS_RDONLY);
}

function isSymlink(path: string): boolean {
  try {
    return lstat(path).isSymbolicLink();
  } catch {
    return false;
  }
}

/** Host directories under /dev that are mounts of their own, made anew in the container. */
const OWN_MOUNTS = new Set(["pts", "shm", "mqueue"]);

/**
 * --privileged: the host's device nodes, its whole /dev tree (as Docker: /dev/net/tun, /dev/dri/*),
 * but not the pseudo-filesystems the container has its own of.
 */
function copyHostDevices(dev: string, from = "/dev", depth = 0): void {
  for (const name of readdir(from)) {
    if (depth === 0 && OWN_MOUNTS.has(name)) continue;
    let st;
    try {
      st = lstat(`${from}/${name}`);
    } catch {
      continue;
    }
    const target = `${dev}/${name}`;
    if (st.isDirectory() && depth < 4) {
      if (!exists(target)) mkdir(target, 0o755);
      copyHostDevices(target, `${from}/${name}`, depth + 1);
    } else if ((st.isCharacterDevice() || st.isBlockDevice()) && !exists(target)) {
      mknod(target, st.mode, st.rdevMajor, st.rdevMinor);
    }
  }
}

function mask(path: string): void {
  let isDir: boolean;
  try {
    isDir = stat(path).isDirectory();
  } catch {
    return;
  }
  if (isDir) mount("tmpfs", path, "tmpfs", MS_RDONLY);
  else mount("/dev/null", path, null, MS_BIND);
}

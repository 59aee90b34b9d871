// Mounts a container's list of mounts (runtime-spec shaped, src/container/spec.ts MountSpec)
// into its rootfs: the one place both `box run`'s defaults and a bundle's mounts are made.
import { close, exists, isErrno, lstat, mkdirs, open, openInRoot, stat, touch } from "../sys/fs.ts";
import { O_DIRECTORY, O_PATH } from "../sys/constants.ts";
import { Errno } from "../sys/errors.ts";
import { dirname, normalize } from "../path.ts";
import { MS_BIND, MS_NODEV, MS_NOEXEC, MS_NOSUID, MS_RDONLY, MS_REC, MS_REMOUNT, MS_NOSYMFOLLOW, MS_NOATIME, MS_NODIRATIME, MS_RELATIME, MS_STRICTATIME } from "../sys/constants.ts";
import { makeReadOnlyRecursive, mount } from "../sys/mount.ts";
import { UserError } from "../container/errors.ts";
import type { MountSpec } from "../container/spec.ts";
import { secureJoin } from "./securejoin.ts";

/** cgroupfs is mounted by the payload's spawn child (it shows the mounter's cgroup namespace): src/rootfs/cgroupfs.ts. */
export function isCgroupMount(m: MountSpec): boolean {
  return m.type === "cgroup" || m.type === "cgroup2";
}

export function ensureDir(path: string): void {
  mkdirs(path, 0o755);
}

/** Makes an empty file or dir at a mount target; `shown` is the path as the container sees it. */
export function ensureTarget(target: string, directory: boolean, shown: string): void {
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

/** The flags a bind's remount may change; a bind ignores them on its first mount(2). */
const BIND_REMOUNTABLE = MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOSYMFOLLOW | MS_NOATIME | MS_NODIRATIME | MS_RELATIME | MS_STRICTATIME;

/**
 * Files under /proc that another filesystem may cover (lxcfs's, as runc allows them). Anything
 * else over /proc would hide the container's procfs, through which box's init reaches its own
 * descriptors, and the masks with it.
 */
const PROC_OVERLAYS = new Set(["/proc/cpuinfo", "/proc/diskstats", "/proc/meminfo", "/proc/stat", "/proc/swaps", "/proc/uptime", "/proc/loadavg", "/proc/slabinfo", "/proc/net/dev", "/proc/sys/kernel/ns_last_pid"]);

function mountOne(root: string, m: MountSpec, procBy?: ProcMounter): void {
  // Resolved inside the rootfs: a destination under a symlink of the image stays in it.
  const target = secureJoin(root, m.destination);
  const inProc = target === `${root}/proc` || target.startsWith(`${root}/proc/`);
  if (inProc && m.type !== "proc" && !PROC_OVERLAYS.has(target.slice(root.length))) throw new UserError(`cannot mount over /proc: ${m.destination} is ${target.slice(root.length)} in the container`);
  if (m.flags & MS_BIND) {
    const from = m.subpath === undefined ? undefined : openSubpath(m);
    const sourcePath = from === undefined ? m.source : `/proc/self/fd/${from}`;
    try {
      let source: ReturnType<typeof stat>;
      try {
        source = stat(sourcePath);
      } catch {
        throw new UserError(`mount ${m.destination}: its source ${m.source} does not exist`);
      }
      ensureTarget(target, source.isDirectory(), m.destination);
      mount(sourcePath, target, null, MS_BIND | (m.flags & MS_REC));
    } finally {
      if (from !== undefined) close(from);
    }
    const remount = m.flags & BIND_REMOUNTABLE;
    if (m.recursiveReadOnly) makeReadOnlyRecursive(target);
    else if (remount) mount(null, target, null, MS_BIND | MS_REMOUNT | remount);
  } else {
    if (m.type === "proc" || m.type === "sysfs") requirePlainDirectory(root, target, m);
    ensureDir(target);
    if (m.type === "proc" && procBy) procBy(target, m);
    else mount(m.source, target, m.type, m.flags, m.data);
  }
  if (m.propagation) mount(null, target, null, m.propagation);
}

/**
 * A volume's subpath, resolved inside the volume: what a container put there (a link to /etc)
 * leads nowhere outside it. The bind is made through the descriptor.
 */
function openSubpath(m: MountSpec): number {
  const base = open(m.source, O_PATH | O_DIRECTORY);
  try {
    return openInRoot(base, m.subpath!, O_PATH | O_DIRECTORY);
  } catch (e) {
    if (isErrno(e, Errno.ENOENT) || isErrno(e, Errno.ENOTDIR)) throw new UserError(`mount ${m.destination}: the volume has no directory ${m.subpath}`);
    throw e;
  } finally {
    close(base);
  }
}

/**
 * proc and sysfs only on a directory reached through no symlink of the image (as runc): masks
 * and read-only paths are applied by their literal paths, /proc/kcore or /sys/firmware, which a
 * /proc linked elsewhere would leave unmasked.
 */
function requirePlainDirectory(root: string, target: string, m: MountSpec): void {
  const literal = `${root}${normalize(m.destination)}`;
  let st: ReturnType<typeof lstat> | undefined;
  try {
    st = lstat(literal);
  } catch {
    // Missing: made below, as a directory.
  }
  if (target !== literal || (st && !st.isDirectory())) throw new UserError(`${m.type} must be mounted on ordinary directory: ${m.destination} in the container is a symlink or not a directory`);
}

/** Mounts procfs `m` at `target` (a directory reached through no symlink), for another pid namespace. */
export type ProcMounter = (target: string, m: MountSpec) => void;

/** Mounts each in order (a later one may lie on an earlier one, as /dev/pts on /dev); procfs through `procBy` if given. */
export function applyMounts(root: string, mounts: MountSpec[], procBy?: ProcMounter): void {
  for (const m of mounts) {
    if (!isCgroupMount(m)) mountOne(root, m, procBy);
  }
}

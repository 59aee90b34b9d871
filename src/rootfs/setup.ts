// Builds the container's filesystem inside the init's private mount namespace, then
// pivot_roots into it. Nothing mounted here is visible on the host, and it all goes away
// with the namespace, so no mount can leak whatever happens to the processes.
import { chmod, exists, lstat, mkdir, readdir, stat, symlink, touch, unlink, writeFile } from "../sys/fs.ts";
import { dirname, normalize } from "../path.ts";
import { MNT_DETACH, MS_BIND, MS_NODEV, MS_NOEXEC, MS_NOSUID, MS_PRIVATE, MS_RDONLY, MS_REC, MS_REMOUNT, MS_SHARED, MS_SLAVE, S_IFBLK, S_IFCHR, S_IFIFO } from "../sys/constants.ts";
import { attachMount, chdir, IdmapUnsupported, idmappedBind, makeReadOnlyRecursive, mknod, mount, pivotRoot, umount } from "../sys/mount.ts";
import { shiftedLayer } from "./shifted.ts";
import { hostId, initIds, ownByContainerRoot, type UsernsSpec } from "../security/userns.ts";
import type { ContainerPaths, ContainerSpec, MountSpec } from "../container/spec.ts";
import { UserError } from "../container/errors.ts";
import { secureJoin } from "./securejoin.ts";
import { etcFiles } from "../container/etc-files.ts";
import { defaultMounts, mountedLate } from "./default-mounts.ts";
import { copyUpVolumes } from "./volume-copy.ts";
import { applyMounts, ensureDir, ensureTarget, isCgroupMount, type ProcMounter } from "./mounts.ts";

export { TTY_GID } from "./default-mounts.ts";

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
    // A bundle's rootfs is owned by the ids its maps give (as runc): bound as it is.
    if (userns && !spec.runtime) idmappedBind(spec.rootfs.path, at, userns.fd, true);
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
 * `dev` is the container's /dev as resolved inside the rootfs (never through a host symlink).
 * Rootless, the kernel makes no device node in a user namespace: the host's are bound instead.
 * An entry that is there already (a mount on it, a bundle's own /dev) is left as it is.
 */
function populateDev(dev: string, tty: boolean, rootless: boolean): void {
  for (const [name, major, minor] of DEVICES) {
    const path = `${dev}/${name}`;
    if (exists(path) || isSymlink(path)) continue;
    if (rootless) {
      touch(path, 0o666);
      mount(`/dev/${name}`, path, null, MS_BIND);
      continue;
    }
    mknod(path, S_IFCHR | 0o666, major, minor);
    chmod(path, 0o666);
  }
  for (const [target, name] of DEV_LINKS) {
    if (!isSymlink(`${dev}/${name}`) && !exists(`${dev}/${name}`)) symlink(target, `${dev}/${name}`);
  }
  // The init binds the payload's pty here once devpts can give it one.
  if (tty && !exists(`${dev}/console`)) touch(`${dev}/console`, 0o600);
}

/**
 * A tmpfs over the container's run dir, seen only in this mount namespace, holds the rootfs
 * mount point and the /etc files: nothing to write to the host's disk, nothing to remove.
 */
function stage(spec: ContainerSpec, runDir: string, peerHosts: string[], userns: UserNamespace | undefined): void {
  mount("tmpfs", runDir, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=700,size=256k");
  mkdir(`${runDir}/rootfs`, 0o700);
  // A bundle brings its own (its mounts name them).
  if (spec.runtime) return;
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
function makeMountPointsFirst(spec: ContainerSpec, mounts: MountSpec[], source: string, root: string): void {
  mount(source, root, null, MS_BIND | MS_REC);
  try {
    for (const m of mounts) {
      if (isCgroupMount(m)) continue;
      const target = secureJoin(root, m.destination);
      if (m.flags & MS_BIND) ensureTarget(target, stat(m.source).isDirectory(), m.destination);
      else ensureDir(target);
    }
    for (const d of spec.devices ?? []) ensureDir(dirname(secureJoin(root, d.target)));
    const workdir = secureJoin(root, spec.workdir, true);
    if (!exists(workdir)) ensureDir(workdir);
  } finally {
    umount(root, MNT_DETACH);
  }
}

/** The container's mounts: a bundle's, or Docker's defaults made of `box run`'s flags. */
export function containerMounts(spec: ContainerSpec, runDir: string, shm?: string | number): MountSpec[] {
  const ids = initIds(spec);
  const mounts = spec.runtime?.mounts ?? defaultMounts(spec, runDir, shm);
  return ids ? mounts.map((m) => ownedInside(m, ids)) : mounts;
}

/** Filesystems whose owner options box translates for a user namespace. */
const OWNED_TYPES = new Set(["tmpfs", "devpts", "mqueue"]);

/**
 * Mounted by the init (host root) for a container in a user namespace, as they would be from
 * inside it: a tmpfs belongs to the container's root, and `uid=`/`gid=` options name container
 * ids (devpts's `gid=5` is the container's tty group; an id the maps leave out is dropped, since
 * the kernel refuses it).
 */
function ownedInside(m: MountSpec, ids: UsernsSpec): MountSpec {
  if (!OWNED_TYPES.has(m.type)) return m;
  const options = (m.data ?? "").split(",").filter(Boolean).flatMap((o) => {
    const kv = /^(uid|gid)=(\d+)$/.exec(o);
    if (!kv) return [o];
    const host = hostId(kv[1] === "uid" ? ids.uidMap : ids.gidMap, Number(kv[2]));
    return host === undefined ? [] : [`${kv[1]}=${host}`];
  });
  if (m.type === "tmpfs") {
    const uid = hostId(ids.uidMap, 0);
    const gid = hostId(ids.gidMap, 0);
    if (uid !== undefined && !options.some((o) => o.startsWith("uid="))) options.push(`uid=${uid}`);
    if (gid !== undefined && !options.some((o) => o.startsWith("gid="))) options.push(`gid=${gid}`);
  }
  return { ...m, data: options.join(",") || undefined };
}

/** box run's cgroupfs is read-only; a bundle's as its mount says (runc honours "ro" or its absence). */
export function cgroupfsReadOnly(spec: ContainerSpec): boolean {
  const m = spec.runtime?.mounts.find(isCgroupMount);
  return m === undefined || (m.flags & MS_RDONLY) !== 0;
}

/** Whether the payload's spawn mounts cgroupfs (at /sys/fs/cgroup). */
export function wantsCgroupfs(spec: ContainerSpec): boolean {
  // box run's list has cgroupfs unless rootless (src/rootfs/default-mounts.ts).
  return spec.runtime ? spec.runtime.mounts.some(isCgroupMount) : !spec.rootless;
}

/**
 * What the init found out before the rootfs is built: other containers' names, the user
 * namespace, a shared /dev/shm (the host's path, or a detached copy of another container's).
 */
export interface RootfsContext {
  /** Where the rootfs is mounted (a bundle's own path, as runc: its hooks find it there); else in the run dir. */
  at?: string;
  /**
   * Mounts procfs at `target` in the mounts' order, for a builder outside the container's pid
   * namespace (box oci create, src/oci/direct.ts): procfs shows the pid namespace of whoever
   * mounts it, so the container's process does.
   */
  procBy?: ProcMounter;
  peerHosts?: string[];
  userns?: UserNamespace;
  shm?: string | number;
}

export function buildRootfs(spec: ContainerSpec, paths: ContainerPaths, context: RootfsContext = {}): void {
  enterRootfs(spec, assembleRootfs(spec, paths, context));
}

/** Everything up to pivot_root: the container's tree, mounted under the run dir (or `at`); its path. */
export function assembleRootfs(spec: ContainerSpec, paths: ContainerPaths, { at, peerHosts = [], userns, shm, procBy }: RootfsContext = {}): string {
  // Nothing below may propagate back to the host. A bundle's mounts may ask to receive the host's
  // (rslave binds, rootfsPropagation), so for one the tree is a slave of the host's, as runc's.
  // So may a volume's bind-propagation (slave or shared, Docker's --mount option).
  const receives = spec.runtime !== undefined || spec.volumes.some((v) => v.propagation && v.propagation & (MS_SLAVE | MS_SHARED));
  mount(null, "/", null, MS_REC | (receives ? MS_SLAVE : MS_PRIVATE));
  stage(spec, paths.runDir, peerHosts, userns);
  const root = at ?? `${paths.runDir}/rootfs`;
  // A read-only /dev (a bundle's "ro" on its tmpfs) is mounted writable, filled, then made
  // read-only, as runc does: its nodes and links are made after it.
  const given = containerMounts(spec, paths.runDir, shm);
  const readOnlyDev = given.find((m) => normalize(m.destination) === "/dev" && !(m.flags & MS_BIND) && m.flags & MS_RDONLY);
  const mounts = readOnlyDev ? given.map((m) => (m === readOnlyDev ? { ...m, flags: m.flags & ~MS_RDONLY } : m)) : given;
  if (userns && spec.rootfs.kind === "dir" && !spec.runtime) makeMountPointsFirst(spec, mounts, spec.rootfs.path, root);
  mountRootfs(spec, paths, root, userns);
  copyUpVolumes(spec, root);
  // A bundle's mounts in its order, then /dev's nodes (as runc). box run's own (volumes, tmpfs
  // mounts, /etc files) come after /dev is made: a volume below /dev is not written into, a
  // --device node not unlinked from a volume.
  const binds = spec.runtime ? [] : mounts.filter(mountedLate);
  applyMounts(root, mounts.filter((m) => !binds.includes(m)), procBy);
  populateDev(secureJoin(root, "/dev"), spec.tty, spec.rootless === true);
  if (spec.privileged) copyHostDevices(secureJoin(root, "/dev"));
  for (const d of spec.devices ?? []) {
    // Resolved inside the rootfs: a target under a symlink of the image stays in it.
    const target = secureJoin(root, d.target);
    ensureDir(dirname(target));
    // One that is there (a node --privileged copied, the image's own) gives way, as in Docker.
    if (exists(target) || isSymlink(target)) unlink(target);
    mknod(target, (d.type === "c" ? S_IFCHR : d.type === "b" ? S_IFBLK : S_IFIFO) | d.mode, d.major, d.minor);
    chmod(target, d.mode);
  }
  applyMounts(root, binds);
  if (typeof shm === "number") {
    const target = secureJoin(root, "/dev/shm");
    ensureDir(target);
    attachMount(shm, target);
  }
  if (readOnlyDev) mount(null, secureJoin(root, "/dev"), null, MS_REMOUNT | readOnlyDev.flags, readOnlyDev.data);
  // Created here, before a --read-only remount, and inside a volume if it lies in one (Docker).
  const workdir = secureJoin(root, spec.workdir, true);
  if (exists(workdir) && !stat(workdir).isDirectory()) {
    throw new UserError(`the working directory ${spec.workdir} is not a directory in the container`);
  }
  if (!exists(workdir)) {
    ensureDir(workdir);
    if (userns) ownByContainerRoot(workdir, userns.spec);
  }
  return root;
}

/** pivot_root into `root`, the host detached; then the sysctls, masks, read-only paths and --read-only. */
export function enterRootfs(spec: ContainerSpec, root: string): void {
  chdir(root);
  pivotRoot(".", ".");
  // The old root now sits on top of the new one; detach it so the host is out of reach.
  umount(".", MNT_DETACH);
  chdir("/");
  if (spec.runtime?.rootfsPropagation) mount(null, "/", null, spec.runtime.rootfsPropagation);
  // Written through the container's own /proc, so they land in its namespaces; before /proc/sys
  // turns read-only. The keys were checked to be namespaced ones when the spec was built.
  for (const [path, value] of Object.entries(spec.sysctls ?? {})) writeFile(`/proc/sys/${path}`, value);
  const privileged = spec.privileged === true;
  const masked = spec.runtime?.maskedPaths ?? (privileged ? [] : MASKED_PATHS);
  if (masked.length) checkDevNull();
  for (const p of masked) mask(p);
  for (const p of spec.runtime?.readonlyPaths ?? (privileged ? [] : READONLY_PATHS)) {
    if (exists(p)) {
      mount(p, p, null, MS_BIND | MS_REC);
      makeReadOnlyRecursive(p);
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
  else mount(DEV_NULL, path, null, MS_BIND);
}

const DEV_NULL = "/dev/null";

/**
 * A bundle's rootfs may bring its own /dev (no tmpfs over it): its /dev/null must be the null
 * device, not a link or file a mask would bind writable over a masked path (CVE-2025-31133).
 */
function checkDevNull(): void {
  const st = lstat(DEV_NULL);
  if (!st.isCharacterDevice() || st.rdevMajor !== 1 || st.rdevMinor !== 3) throw new UserError(`${DEV_NULL} in the container is not the null device (1:3): masked paths cannot be masked with it`);
}

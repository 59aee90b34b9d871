// What `box run` mounts in a container, in the runtime spec's terms (as Docker's generated
// config.json has it): the kernel filesystems, the volumes, the /etc files box writes. The same
// list a bundle gives `box oci`, mounted by the same code (src/rootfs/mounts.ts).
import { MS_BIND, MS_NODEV, MS_NOEXEC, MS_NOSUID, MS_RDONLY, MS_REC, MS_STRICTATIME } from "../sys/constants.ts";
import { ETC_FILES } from "../container/etc-files.ts";
import type { ContainerSpec, MountSpec } from "../container/spec.ts";
import { normalize } from "../path.ts";

const NO_EXEC_SUID_DEV = MS_NOSUID | MS_NODEV | MS_NOEXEC;
export const TTY_GID = 5;

/** /dev/shm's size without --shm-size (Docker's). */
export const DEFAULT_SHM_SIZE = 64 << 20;

/** The kernel filesystems every container gets (as runc's default spec). */
export const SPECIAL_MOUNTS: MountSpec[] = [
  { destination: "/proc", type: "proc", source: "proc", flags: NO_EXEC_SUID_DEV },
  { destination: "/dev", type: "tmpfs", source: "tmpfs", flags: MS_NOSUID | MS_STRICTATIME, data: "mode=755,size=65536k" },
  { destination: "/dev/pts", type: "devpts", source: "devpts", flags: MS_NOSUID | MS_NOEXEC, data: "newinstance,ptmxmode=0666,mode=0620,gid=5" },
  { destination: "/dev/shm", type: "tmpfs", source: "shm", flags: NO_EXEC_SUID_DEV, data: `mode=1777,size=${DEFAULT_SHM_SIZE / 1024}k` },
  { destination: "/dev/mqueue", type: "mqueue", source: "mqueue", flags: NO_EXEC_SUID_DEV },
  { destination: "/sys", type: "sysfs", source: "sysfs", flags: NO_EXEC_SUID_DEV | MS_RDONLY },
  // Mounted by the payload's spawn child, in its cgroup namespace (src/rootfs/cgroupfs.ts).
  { destination: "/sys/fs/cgroup", type: "cgroup", source: "cgroup", flags: NO_EXEC_SUID_DEV | MS_RDONLY },
];

/**
 * `runDir`: where the init wrote the /etc files (its tmpfs). `shm`: the /dev/shm instead of a new
 * one: the host's to bind (--ipc host), or a detached mount the caller attaches (--ipc container:X).
 */
export function defaultMounts(spec: ContainerSpec, runDir: string, shm?: string | number): MountSpec[] {
  const user = userMounts(spec);
  const shmGiven = user.some((m) => m.destination === "/dev/shm");
  const kernel = SPECIAL_MOUNTS.filter((m) => !(m.type === "cgroup" && spec.rootless) && !(m.destination === "/dev/shm" && (shmGiven || shm !== undefined || spec.ipcMode === "none"))).map((m): MountSpec => {
    // --privileged: /sys writable, as Docker's.
    if (spec.privileged && m.type === "sysfs") return { ...m, flags: m.flags & ~MS_RDONLY };
    if (m.destination === "/dev/shm" && spec.shmSize !== undefined) return { ...m, data: `mode=1777,size=${Math.floor(spec.shmSize / 1024)}k` };
    return m;
  });
  return [
    ...kernel,
    ...(typeof shm === "string" && !shmGiven ? [{ destination: "/dev/shm", type: "bind", source: shm, flags: MS_BIND | MS_REC }] : []),
    ...user,
    ...ETC_FILES.map((f): MountSpec => ({ destination: `/etc/${f}`, type: "bind", source: `${runDir}/${f}`, flags: MS_BIND | MS_REC })),
  ];
}

/**
 * Volumes and tmpfs mounts, parents before what lies in them (Docker sorts by depth): a tmpfs
 * inside a volume is mounted on the volume, not hidden under it.
 */
function userMounts(spec: ContainerSpec): MountSpec[] {
  const mounts = [
    // Recursive, and read-only recursively as Docker 25+: a mount below a :ro volume's source must not stay writable.
    ...spec.volumes.map((v): MountSpec => ({
      destination: v.target,
      type: "bind",
      source: v.source,
      flags: MS_BIND | (v.nonRecursive ? 0 : MS_REC) | (v.nonRecursive && v.readOnly ? MS_RDONLY : 0),
      ...(v.readOnly && !v.nonRecursive ? { recursiveReadOnly: true } : {}),
      ...(v.propagation ? { propagation: v.propagation } : {}),
      ...(v.subpath ? { subpath: v.subpath } : {}),
    })),
    ...(spec.tmpfs ?? []).map((t): MountSpec => ({ destination: t.target, type: "tmpfs", source: "tmpfs", flags: t.flags, data: t.data || undefined })),
  ];
  const depth = (m: MountSpec) => normalize(m.destination).split("/").length;
  return mounts.sort((a, b) => depth(a) - depth(b));
}

/** Mounted after /dev is made (box run's volumes, tmpfs mounts and /etc files), not with the kernel filesystems. */
export function mountedLate(m: MountSpec): boolean {
  return !SPECIAL_MOUNTS.some((s) => s.destination === m.destination && s.type === m.type);
}

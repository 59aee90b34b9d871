// What `box run` mounts in a container, in the runtime spec's terms (as Docker's generated
// config.json has it): the kernel filesystems, the volumes, the /etc files box writes. The same
// list a bundle gives `box oci`, mounted by the same code (src/rootfs/mounts.ts).
import { MS_BIND, MS_NODEV, MS_NOEXEC, MS_NOSUID, MS_RDONLY, MS_REC, MS_STRICTATIME } from "../sys/constants.ts";
import { ETC_FILES } from "../container/etc-files.ts";
import type { ContainerSpec, MountSpec } from "../container/spec.ts";

const NO_EXEC_SUID_DEV = MS_NOSUID | MS_NODEV | MS_NOEXEC;
export const TTY_GID = 5;

/** The kernel filesystems every container gets (as runc's default spec). */
export const SPECIAL_MOUNTS: MountSpec[] = [
  { destination: "/proc", type: "proc", source: "proc", flags: NO_EXEC_SUID_DEV },
  { destination: "/dev", type: "tmpfs", source: "tmpfs", flags: MS_NOSUID | MS_STRICTATIME, data: "mode=755,size=65536k" },
  { destination: "/dev/pts", type: "devpts", source: "devpts", flags: MS_NOSUID | MS_NOEXEC, data: "newinstance,ptmxmode=0666,mode=0620,gid=5" },
  { destination: "/dev/shm", type: "tmpfs", source: "shm", flags: NO_EXEC_SUID_DEV, data: "mode=1777,size=65536k" },
  { destination: "/dev/mqueue", type: "mqueue", source: "mqueue", flags: NO_EXEC_SUID_DEV },
  { destination: "/sys", type: "sysfs", source: "sysfs", flags: NO_EXEC_SUID_DEV | MS_RDONLY },
  // Mounted by the payload's spawn child, in its cgroup namespace (src/rootfs/cgroupfs.ts).
  { destination: "/sys/fs/cgroup", type: "cgroup", source: "cgroup", flags: NO_EXEC_SUID_DEV | MS_RDONLY },
];

/** `runDir`: where the init wrote the /etc files (its tmpfs). */
export function defaultMounts(spec: ContainerSpec, runDir: string): MountSpec[] {
  return [
    // --privileged: /sys writable, as Docker's.
    ...SPECIAL_MOUNTS.filter((m) => !(m.type === "cgroup" && spec.rootless)).map((m) => (spec.privileged && m.type === "sysfs" ? { ...m, flags: m.flags & ~MS_RDONLY } : m)),
    // Recursive, and read-only recursively as Docker 25+: a mount below a :ro volume's source must not stay writable.
    ...spec.volumes.map((v): MountSpec => ({ destination: v.target, type: "bind", source: v.source, flags: MS_BIND | MS_REC, recursiveReadOnly: v.readOnly })),
    ...ETC_FILES.map((f): MountSpec => ({ destination: `/etc/${f}`, type: "bind", source: `${runDir}/${f}`, flags: MS_BIND | MS_REC })),
  ];
}

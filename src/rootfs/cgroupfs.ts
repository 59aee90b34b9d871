// /sys/fs/cgroup inside the container: the container's own cgroup as its root, read-only (a
// bundle's mount without "ro" makes it writable: systemd in a container makes cgroups of its own).
// cgroupfs shows the cgroup namespace of whoever mounts it, so the payload's spawn child mounts
// it (after entering that namespace, before exec); this prepares the mount points.
import { mkdir } from "../sys/fs.ts";
import { basename } from "../path.ts";
import type { CgroupLayout } from "../cgroup/detect.ts";
import { MS_BIND, MS_NODEV, MS_NOEXEC, MS_NOSUID, MS_RDONLY, MS_REMOUNT } from "../sys/constants.ts";
import { mount } from "../sys/mount.ts";
import type { SpawnOptions } from "../sys/spawn.ts";

const CGROUP_ROOT = "/sys/fs/cgroup";
/** Call after pivot_root; returns the mounts for the payload's spawn. */
export function prepareCgroupfs(layout: CgroupLayout, readOnly = true): NonNullable<SpawnOptions["mounts"]> {
  const RO = (readOnly ? MS_RDONLY : 0) | MS_NOSUID | MS_NODEV | MS_NOEXEC;
  if (layout.version === 2) return [{ source: "cgroup2", target: CGROUP_ROOT, fstype: "cgroup2", flags: RO }];
  // v1: one directory per hierarchy on a small tmpfs, as Docker lays it out.
  mount("tmpfs", CGROUP_ROOT, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=755,size=64k");
  const mounts = layout.hierarchies.map((h) => {
    const target = `${CGROUP_ROOT}/${basename(h.mountpoint)}`;
    mkdir(target);
    // Hybrid: the cgroup2 tree beside them, as the host has it (runc mounts it so too).
    if (h.unified) return { source: "cgroup2", target, fstype: "cgroup2", flags: RO };
    if (h.name) return { source: "cgroup", target, fstype: "cgroup", flags: RO, data: `none,name=${h.name}` };
    return { source: "cgroup", target, fstype: "cgroup", flags: RO, data: h.controllers.join(",") };
  });
  mount(null, CGROUP_ROOT, null, MS_BIND | MS_REMOUNT | RO);
  return mounts;
}

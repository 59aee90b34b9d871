// Makes a container's cgroups (where they are: paths.ts; their removal: cgroups.ts): its own
// directory in every hierarchy, parents made once and kept, or a bundle's cgroupsPath under
// parents someone else made; the devices allow-list set before anything joins.
import { exists, isErrno, mkdir, readFile, writeFile } from "../sys/fs.ts";
import { dirname, join } from "../path.ts";
import { describeError, Errno } from "../sys/errors.ts";
import { detectCgroups, type Hierarchy } from "./detect.ts";
import { cgroupPath, containerCgroupDirs, type CgroupOwner } from "./paths.ts";
import { applyDeviceRules, applyDeviceRulesV2, deviceRulesEnforced } from "./devices.ts";
import { removeCgroups } from "./cgroups.ts";

/** Makes each missing directory of `parent` (relative to the hierarchy's root), set up to hold children. */
function ensureParents(h: Hierarchy, version: 1 | 2, parent: string): void {
  let dir = h.mountpoint;
  for (const part of parent.split("/").filter(Boolean)) {
    const above = dir;
    dir = join(dir, part);
    if (exists(dir)) continue;
    try {
      mkdir(dir);
    } catch (e) {
      if (!isErrno(e, Errno.EEXIST)) throw e;
      continue;
    }
    if (version === 1 && h.controllers.includes("cpuset")) {
      fillCpuset(above, dir);
      // Children copy ours.
      writeFile(join(dir, "cgroup.clone_children"), "1");
    }
    if (version === 2) enableControllers(dir);
  }
}

/**
 * A container cgroup below parents someone else made (dockerd after runc, kubelet's kubepods, a
 * --cgroup-parent) made usable as runc makes it, by filling in along the path only what it
 * lacks: a v1 cpuset's empty cpus and mems (it could take no task: ENOSPC), on v2 a controller
 * its hierarchy has that a parent does not enable for its children. Looked at only there: box's
 * own parents are made complete.
 */
function adoptParents(h: Hierarchy, version: 1 | 2, path: string): void {
  // The hierarchy's root, each parent, the container's cgroup.
  const chain = [h.mountpoint];
  for (const part of path.split("/").filter(Boolean)) chain.push(join(chain.at(-1)!, part));
  const dir = chain.at(-1)!;
  if (version === 1 && h.controllers.includes("cpuset")) {
    const empty = ["cpuset.cpus", "cpuset.mems"].some((f) => !readFile(join(dir, f)).trim());
    if (empty) for (let i = 1; i < chain.length; i++) fillCpuset(chain[i - 1]!, chain[i]!);
  }
  if (version === 2) {
    const have = new Set(readFile(join(dir, "cgroup.controllers")).trim().split(/\s+/));
    const lacking = readFile(join(h.mountpoint, "cgroup.controllers")).trim().split(/\s+/).some((c) => c && !have.has(c));
    if (lacking) chain.slice(0, -1).forEach(enableControllers);
  }
}

/** A v1 cpuset cgroup takes no task until cpus and mems are set: each that is empty gets its parent's. */
function fillCpuset(parent: string, dir: string): void {
  for (const f of ["cpuset.cpus", "cpuset.mems"]) {
    if (!readFile(join(dir, f)).trim()) writeFile(join(dir, f), readFile(join(parent, f)).trim() || "\n");
  }
}

/** Enables for a v2 cgroup's children each controller it has that is not enabled yet. */
function enableControllers(dir: string): void {
  const available = readFile(join(dir, "cgroup.controllers")).trim().split(/\s+/).filter(Boolean);
  const enabled = new Set(readFile(join(dir, "cgroup.subtree_control")).trim().split(/\s+/));
  const missing = available.filter((c) => !enabled.has(c));
  if (missing.length) writeFile(join(dir, "cgroup.subtree_control"), missing.map((c) => `+${c}`).join(" "));
}

/**
 * Makes the container's cgroup in every hierarchy; returns their directories. The devices
 * cgroup (v1), or on v2 the container's cgroup through a BPF program, gets `deviceRules`
 * (`deny a`, `allow c 1:3 rwm`, in order); without them (--privileged) it is left as it is made:
 * every device allowed. An existing cgroup is refused (it is not box's to take over), but for an
 * OCI bundle's cgroupsPath, which runc joins: its caller may have made it.
 */
export function createContainerCgroups(spec: CgroupOwner, deviceRules: string[] | undefined): string[] {
  const layout = detectCgroups();
  const path = cgroupPath(spec);
  const dirs = containerCgroupDirs(spec);
  const made: string[] = [];
  try {
    for (const [i, h] of layout.hierarchies.entries()) {
      ensureParents(h, layout.version, dirname(path));
      const dir = dirs[i]!;
      try {
        mkdir(dir);
        made.push(dir);
      } catch (e) {
        if (!spec.runtime || !isErrno(e, Errno.EEXIST)) throw e;
      }
      if (spec.runtime || spec.cgroupParent) adoptParents(h, layout.version, path);
      if (h.controllers.includes("devices") && deviceRules) applyDeviceRules(dir, deviceRules);
      // The payload and box exec's processes join it; the init, which makes /dev's nodes, never does.
      if (layout.version === 2 && deviceRules && deviceRulesEnforced()) applyDeviceRulesV2(dir, deviceRules);
    }
  } catch (e) {
    removeCgroups(made, false);
    throw new Error(`creating cgroup ${path}: ${describeError(e)}`);
  }
  return dirs;
}

// Creates and removes the cgroups of one container: <hierarchy>/box/<id>, or a bundle's
// cgroupsPath. box never writes to a cgroup it did not create; parents are made once and kept.
import { exists, isErrno, lstat, mkdir, readdirIfExists, readFile, rmdir, writeFile } from "../sys/fs.ts";
import { dirname, join } from "../path.ts";
import { describeError, Errno } from "../sys/errors.ts";
import { kill } from "../sys/process.ts";
import { SIGKILL } from "../sys/constants.ts";
import { detectCgroups, type Hierarchy } from "./detect.ts";
import { applyDeviceRules, applyDeviceRulesV2, deviceRulesEnforced } from "./devices.ts";
import { freezeNow, thaw } from "./freezer.ts";

export const CGROUP_PARENT = "box";

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

/** What places a container's cgroup: its id, --cgroup-parent, a bundle's cgroupsPath. */
type CgroupOwner = { id: string; cgroupParent?: string; runtime?: { cgroupPath: string } };

/** The container's cgroup relative to each hierarchy's root: box/<id> (or PARENT/<id>), or a bundle's cgroupsPath. */
export function cgroupPath(spec: CgroupOwner): string {
  return spec.runtime?.cgroupPath ?? join(spec.cgroupParent ?? CGROUP_PARENT, spec.id);
}

/** Where a container's cgroups are (or would be), one per hierarchy. */
export function containerCgroupDirs(spec: CgroupOwner): string[] {
  return detectCgroups().hierarchies.map((h) => join(h.mountpoint, cgroupPath(spec)));
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

/**
 * The files a single-threaded process writes "0" into to join a container's cgroups (`dirs`: one
 * per hierarchy, in the layout's order, as containerCgroupDirs makes them). On v1 that is `tasks`:
 * moving only the calling thread lets the kernel skip the global threadgroup lock, whose write
 * side waits for an RCU grace period (10-20 ms here on every `cgroup.procs` write); a cgroup2
 * tree (v2, a hybrid host's unified one) has only `cgroup.procs`.
 */
export function joinFiles(dirs: string[]): string[] {
  const layout = detectCgroups();
  return dirs.map((dir, i) => join(dir, layout.version === 2 || layout.hierarchies[i]?.unified ? "cgroup.procs" : "tasks"));
}

/**
 * Removes cgroup directories; the kernel may report EBUSY for a moment after the last task is
 * reaped. `leftovers`: kill what may still be inside first (not needed by an init that reaped
 * everything, nor for cgroups just made).
 */
export function removeCgroups(dirs: string[], leftovers = true): void {
  if (leftovers) killLeftovers(dirs);
  for (const dir of dirs) {
    for (let attempt = 0; ; attempt++) {
      try {
        rmdir(dir);
        break;
      } catch (e) {
        if (isErrno(e, Errno.ENOENT)) break;
        if (!isErrno(e, Errno.EBUSY) || attempt >= 250) throw e;
        // Busy: its last tasks are still leaving, or its processes made cgroups below it (systemd in
        // a container, a box oci exec --cgroup's): those go first, as runc removes them.
        const below = attempt === 0 ? childCgroups(dir) : [];
        if (below.length) removeCgroups(below, leftovers);
        else Bun.sleepSync(2);
      }
    }
  }
}

/**
 * The host pids of a container's processes. A process is in one cgroup of every hierarchy, and
 * box's processes join all of the container's: any one of them lists every process. None when no
 * cgroup was made, or it is gone.
 */
export function cgroupProcesses(dirs: string[]): number[] {
  if (!dirs.length) return [];
  try {
    return readFile(join(dirs[0]!, "cgroup.procs")).split("\n").filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/**
 * Kills what is still in the container's cgroups: normally nothing (the pid namespace took it
 * along), but a payload frozen by `box pause` outlives an init killed meanwhile. It is thawed
 * first: a frozen process cannot die.
 */
/**
 * Kills every process of the container's cgroups until none is left (one may fork while the
 * others die): how a container in a shared PID namespace ends, where no namespace ends with it.
 */
export function endCgroupProcesses(dirs: string[]): void {
  if (!dirs.length) return;
  const kill2 = join(dirs[0]!, "cgroup.kill");
  // v2 (Linux 5.14+): the kernel kills the whole cgroup at once, what forks meanwhile included.
  if (detectCgroups().version === 2 && exists(kill2)) writeFile(kill2, "1");
  // Else frozen first, so that nothing forks between the list and the kills, which land at the thaw.
  else if (freezeNow(dirs)) {
    for (const pid of cgroupProcesses(dirs)) kill(pid, SIGKILL);
    thaw(dirs);
  }
  // Without a freezer: rounds, until a fork loop loses.
  for (let round = 0; cgroupProcesses(dirs).length && round < 1000; round++) {
    killLeftovers(dirs);
    Bun.sleepSync(1);
  }
}

/** The cgroups right below a cgroup (its other entries are files). */
function childCgroups(dir: string): string[] {
  return readdirIfExists(dir).map((name) => join(dir, name)).filter((child) => {
    try {
      return lstat(child).isDirectory();
    } catch {
      return false;
    }
  });
}

function killLeftovers(dirs: string[]): void {
  const pids = cgroupProcesses(dirs);
  if (pids.length === 0) return;
  thaw(dirs);
  for (const pid of pids) kill(pid, SIGKILL);
}

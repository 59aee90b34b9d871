// Where a container's cgroups are: <hierarchy>/box/<id>, or a bundle's cgroupsPath; the files
// that join them, and who is in them. Apart from their creation and removal (cgroups.ts), which
// load the devices program and the freezer: state and start need only these.
import { readFile } from "../sys/fs.ts";
import { join } from "../path.ts";
import { detectCgroups } from "./detect.ts";

export const CGROUP_PARENT = "box";

/** What places a container's cgroup: its id, --cgroup-parent, a bundle's cgroupsPath. */
export type CgroupOwner = { id: string; cgroupParent?: string; runtime?: { cgroupPath: string } };

/** The container's cgroup relative to each hierarchy's root: box/<id> (or PARENT/<id>), or a bundle's cgroupsPath. */
export function cgroupPath(spec: CgroupOwner): string {
  return spec.runtime?.cgroupPath ?? join(spec.cgroupParent ?? CGROUP_PARENT, spec.id);
}

/** Where a container's cgroups are (or would be), one per hierarchy. */
export function containerCgroupDirs(spec: CgroupOwner): string[] {
  return detectCgroups().hierarchies.map((h) => join(h.mountpoint, cgroupPath(spec)));
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

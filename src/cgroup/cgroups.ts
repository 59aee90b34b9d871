// Removes a container's cgroups, and ends what runs in them (where they are: paths.ts; their
// creation: create.ts). box never writes to a cgroup it did not create.
import { exists, isErrno, lstat, readdirIfExists, rmdir, writeFile } from "../sys/fs.ts";
import { join } from "../path.ts";
import { Errno } from "../sys/errors.ts";
import { kill } from "../sys/process.ts";
import { SIGKILL } from "../sys/constants.ts";
import { detectCgroups } from "./detect.ts";
import { cgroupProcesses } from "./paths.ts";
import { freezeNow, thaw } from "./freezer.ts";

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

/**
 * Kills what is still in the container's cgroups: normally nothing (the pid namespace took it
 * along), but a payload frozen by `box pause` outlives an init killed meanwhile. It is thawed
 * first: a frozen process cannot die.
 */
function killLeftovers(dirs: string[]): void {
  const pids = cgroupProcesses(dirs);
  if (pids.length === 0) return;
  thaw(dirs);
  for (const pid of pids) kill(pid, SIGKILL);
}

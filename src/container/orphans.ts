// What a kill at the wrong moment leaves that no record names, found and removed by `prune`: a
// container directory without its config.json (its creator killed before the first write), a
// name whose container is gone, address leases and port claims (and their rules) whose
// container is gone or that are empty. (Run directories are left to their container: the run
// root is /run/box for every store that names no --runroot of its own, so one without a
// container of this store may be another store's.)
import { close, exists, isErrno, open, readdirIfExists, readFile, removeTree, tryLockExclusive, unlink } from "../sys/fs.ts";
import { Errno } from "../sys/errors.ts";
import { O_DIRECTORY, O_RDONLY } from "../sys/constants.ts";
import { join } from "../path.ts";
import { removeCgroups } from "../cgroup/cgroups.ts";
import { containerCgroupDirs } from "../cgroup/paths.ts";
import { releaseStaleClaims } from "../net/network.ts";
import { layout, listContainerIds, type Store } from "./store.ts";

/** Removes what no container of the store owns; how many containers' leftovers went. */
export function pruneOrphans(store: Store): number {
  const isContainer = (id: string) => exists(join(store.root, layout.container(id)));
  let removed = 0;
  for (const id of listContainerIds(store)) if (removeUnrecorded(store, id)) removed++;
  for (const name of readdirIfExists(join(store.root, layout.names))) {
    const file = join(store.root, layout.name(name));
    let owner = "";
    try {
      owner = readFile(file);
    } catch {}
    if (owner && isContainer(owner)) continue;
    try {
      unlink(file);
    } catch (e) {
      if (!isErrno(e, Errno.ENOENT)) throw e;
    }
  }
  releaseStaleClaims(store, isContainer);
  return removed;
}

/**
 * A container directory without config.json whose lock nobody holds: its creator (which writes the
 * record first, holding the lock) was killed before the write. Its cgroups (box's own path: a
 * bundle's would be named in the record), run directory and directory go.
 */
function removeUnrecorded(store: Store, id: string): boolean {
  const dir = join(store.root, layout.container(id));
  if (exists(join(dir, "config.json"))) return false;
  let fd: number;
  try {
    fd = open(dir, O_RDONLY | O_DIRECTORY);
  } catch {
    return false;
  }
  try {
    if (!tryLockExclusive(fd, dir) || exists(join(dir, "config.json"))) return false;
    removeCgroups(containerCgroupDirs({ id }));
    removeTree(join(store.runroot, layout.container(id)));
    removeTree(dir);
    return true;
  } catch (e) {
    // Removed meanwhile by whoever was removing it (an --rm init's end, which takes no lock).
    if (isErrno(e, Errno.ENOENT)) return false;
    throw e;
  } finally {
    close(fd);
  }
}

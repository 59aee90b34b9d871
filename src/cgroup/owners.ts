// Which store made each container's cgroups: a cgroup names no store, and an exited container
// keeps its cgroups until `box rm`, so when a store is deleted by hand (rm -rf of its root),
// this record is how a prune from any other store tells its cgroups are nobody's. One small
// file per container in /run/box-cgroups (a tmpfs: gone with a reboot, as the cgroups are):
// {"root": the store's resolved root, "id", "cgroups": the directories}.
import { exists, isErrno, mkdirs, readdirIfExists, readFile, realPath, unlink, writeFileAtomic } from "../sys/fs.ts";
import { Errno } from "../sys/errors.ts";
import { join } from "../path.ts";
import { removeCgroups } from "./cgroups.ts";

const OWNERS = "/run/box-cgroups";

function entry(root: string, id: string): string {
  return join(OWNERS, new Bun.CryptoHasher("sha256").update(`${root}\0${id}`).digest("hex").slice(0, 32));
}

/**
 * Written before the cgroups are made: no cgroup of box's exists without its owner's name.
 * Where it is (cgroupOwnerRecord's answer, known now without its work again).
 */
export function recordCgroupOwner(root: string, id: string, cgroups: string[]): { dir: string; name: string } {
  const resolved = realPath(root);
  mkdirs(OWNERS, 0o700);
  const file = entry(resolved, id);
  writeFileAtomic(file, JSON.stringify({ root: resolved, id, cgroups }), 0o600);
  return { dir: OWNERS, name: file.slice(OWNERS.length + 1) };
}

/**
 * Where the record of container `id` of the store at `root` is (removed with the container's
 * cgroups: a step of its teardown plan, src/container/lifecycle.ts): the records' directory and
 * the file's name; undefined when the store is gone.
 */
export function cgroupOwnerRecord(root: string, id: string): { dir: string; name: string } | undefined {
  try {
    return { dir: OWNERS, name: entry(realPath(root), id).slice(OWNERS.length + 1) };
  } catch {
    return undefined;
  }
}

/**
 * The cgroups of containers that no longer exist (their store deleted by hand, or the container
 * gone from it: removed by its init, or a kill in the middle of box rm), that no process is in:
 * removed, with their records. Never a cgroup with a process in it, nor one of a container that
 * may be there.
 */
export function reclaimOrphanCgroups(storeGone: (root: string) => boolean): void {
  for (const name of readdirIfExists(OWNERS)) {
    const file = join(OWNERS, name);
    let record: { root: string; id: string; cgroups: string[] };
    try {
      record = JSON.parse(readFile(file));
    } catch {
      continue;
    }
    if (!storeGone(record.root) && exists(join(record.root, "containers", record.id))) continue;
    const left = record.cgroups.filter((d) => exists(d));
    if (left.some(inUse)) continue;
    removeCgroups(left, false);
    try {
      unlink(file);
    } catch (e) {
      if (!isErrno(e, Errno.ENOENT)) throw e;
    }
  }
}

function inUse(dir: string): boolean {
  try {
    return readFile(join(dir, "cgroup.procs")).trim() !== "";
  } catch {
    return false;
  }
}

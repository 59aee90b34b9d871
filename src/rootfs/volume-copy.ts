// Docker's copy-up: a volume that is empty when a container mounts it first gets what the
// image has at that path, owners and modes kept. The image is no more trusted than any other:
// the path is resolved inside its root, and the tree is copied by descriptors (src/sys/copy-tree.ts),
// links as links, device nodes left out.
import { close, fchmod, fchown, fstat, holdLock, isErrno, open, openInRoot, readdir } from "../sys/fs.ts";
import { copyEntry } from "../sys/copy-tree.ts";
import { O_DIRECTORY, O_PATH, O_RDONLY } from "../sys/constants.ts";
import { Errno } from "../sys/errors.ts";
import { log } from "../log.ts";
import type { ContainerSpec } from "../container/spec.ts";

const COPY_DEPTH = 4096;

/** `root`: the container's root as built so far (the image's layers, before any volume is on it). */
export function copyUpVolumes(spec: ContainerSpec, root: string): void {
  const volumes = spec.volumes.filter((v) => v.volume !== undefined && v.copyUp && v.subpath === undefined);
  if (!volumes.length) return;
  const rootFd = open(root, O_PATH | O_DIRECTORY);
  try {
    for (const v of volumes) copyUp(rootFd, v.target, v.source, spec.rootless === true);
  } finally {
    close(rootFd);
  }
}

function copyUp(rootFd: number, target: string, data: string, rootless: boolean): void {
  let from: number;
  try {
    from = openInRoot(rootFd, target, O_RDONLY | O_DIRECTORY);
  } catch (e) {
    // Nothing (or no directory) there in the image: nothing to copy.
    if (isErrno(e, Errno.ENOENT) || isErrno(e, Errno.ENOTDIR)) return;
    throw e;
  }
  // Two containers starting on one new volume: one copies, the other finds it full.
  const lock = holdLock(data);
  try {
    if (readdir(data).length) return;
    const to = open(data, O_RDONLY | O_DIRECTORY);
    try {
      const st = fstat(from);
      // Rootless, only root (the user outside) is an owner box can give.
      const owner = rootless ? undefined : (s: { uid: number; gid: number }): [number, number] => [s.uid, s.gid];
      if (owner) fchown(to, ...owner(st));
      fchmod(to, st.mode & 0o7777);
      // Bounded as an image's layers are: hard links stay links, and no deeper than a layer may go.
      const rules = { modeMask: 0o7777, owner, hardLinks: { root: to, seen: new Map<string, string>() }, maxDepth: COPY_DEPTH, skipped: (shown: string, why: string) => log.warn(`volume at ${target}: skipped ${shown}: ${why}`) };
      for (const name of readdir(`/proc/self/fd/${from}`)) copyEntry(from, name, to, name, rules, `${target}/${name}`);
    } finally {
      close(to);
    }
  } finally {
    close(lock);
    close(from);
  }
}

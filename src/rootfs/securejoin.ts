// Resolves a path inside a rootfs the way the container would see it: symlinks are followed,
// but "/" and ".." are clamped to the rootfs, so no link in an image or a volume target can
// point a mount outside it.
import { lstat, readlink } from "../sys/fs.ts";
import { UserError } from "../container/errors.ts";

const MAX_LINKS = 255;

/**
 * `notThroughProc`: refuse a path whose resolution follows a link inside the container's /proc
 * (/proc/self, /proc/1/fd/N): those name processes' descriptors and cwds, and their text would
 * lead the rest of the walk to the host's paths, read by box (a working directory through one).
 */
export function secureJoin(root: string, unsafe: string, notThroughProc = false): string {
  let pending = unsafe.split("/").filter(Boolean);
  const resolved: string[] = [];
  let links = 0;
  while (pending.length) {
    const part = pending.shift()!;
    if (part === ".") continue;
    if (part === "..") {
      resolved.pop();
      continue;
    }
    const candidate = `${root}/${[...resolved, part].join("/")}`;
    let isLink = false;
    try {
      isLink = lstat(candidate).isSymbolicLink();
    } catch {
      // Missing: the rest is taken literally and created later, inside the root.
    }
    if (!isLink) {
      resolved.push(part);
      continue;
    }
    if (notThroughProc && resolved[0] === "proc") throw new UserError(`${unsafe} leads through a link of /proc in the container`);
    if (++links > MAX_LINKS) throw new UserError(`too many symlinks resolving ${unsafe} in the rootfs`);
    const target = readlink(candidate);
    if (target.startsWith("/")) resolved.length = 0;
    pending = [...target.split("/").filter(Boolean), ...pending];
  }
  return resolved.length ? `${root}/${resolved.join("/")}` : root;
}

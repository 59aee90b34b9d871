// A tree copied by descriptors: every entry opened with O_NOFOLLOW below its parent's
// descriptor, so a symlink swapped in meanwhile (CVE-2021-30465 class) redirects nothing.
// Symlinks are copied as links; device nodes, fifos and sockets are skipped (but for a layer's). Used by `box cp` and
// by the shifted copies of image layers (src/rootfs/shifted.ts).
import {
  chmod, close, fchmod, fchown, fstat, lchownAt, mkdirAt, open, openAt, read, readdir, readlinkAt, renameAt, statAtFd, symlinkAt, unlinkAt,
  write, isErrno, fsetxattr, fgetxattr, linkFdAt, openInRoot, type FileStat,
} from "./fs.ts";
import { O_CREAT, O_DIRECTORY, O_EXCL, O_NOFOLLOW, O_NONBLOCK, O_PATH, O_RDONLY, O_WRONLY, S_IFCHR, S_IFIFO } from "./constants.ts";
import { Errno, SyscallError } from "./errors.ts";
import { randomHex } from "../random.ts";
import { mknod } from "./mount.ts";

/**
 * What a copy keeps: the mode bits in `modeMask`; with `owner`, the owner it gives each entry.
 * `skipped` hears of each entry left out (shown as the caller named the tree, and why).
 */
export interface CopyRules {
  modeMask: number;
  owner?: (st: FileStat) => [uid: number, gid: number];
  /**
   * An image layer: fifos, overlay whiteouts (0/0 character devices) and the opaque xattr named
   * here are made anew; otherwise fifos are skipped like device nodes.
   */
  layer?: { opaqueXattr: string };
  /**
   * Hard links stay links (a tree of one file linked 10,000 times is not copied 10,000 times):
   * the first copy of each inode, by its path below `root` (the copy's top directory).
   */
  hardLinks?: { root: number; seen: Map<string, string> };
  /** Deeper than this many levels below the top is refused. */
  maxDepth?: number;
  skipped: (shown: string, why: string) => void;
}

/**
 * Neither side ever opens what the other put at a path: the source is opened as a path and
 * read only once fstat says it is a regular file (not a FIFO, not a disk's device node); the copy
 * is written under a new name and renamed over the target, which replaces whatever is there (a
 * file, a link, a device node) without opening it.
 */
function copyFile(srcDir: number, srcName: string, dstDir: number, dstName: string, rules: CopyRules, shown: string): void {
  const handle = openAt(srcDir, srcName, O_PATH | O_NOFOLLOW);
  try {
    const st = fstat(handle);
    if (!st.isFile()) return rules.skipped(shown, "not a regular file any more");
    const input = open(`/proc/self/fd/${handle}`, O_RDONLY | O_NONBLOCK);
    const temp = `.box-cp-${randomHex(6)}`;
    try {
      const output = openAt(dstDir, temp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600);
      try {
        const buf = new Uint8Array(65536);
        for (let n = read(input, buf); n > 0; n = read(input, buf)) write(output, buf.subarray(0, n));
        // chown before chmod: changing the owner clears setuid and setgid bits.
        if (rules.owner) fchown(output, ...rules.owner(st));
        fchmod(output, st.mode & rules.modeMask);
      } finally {
        close(output);
      }
      renameAt(dstDir, temp, dstDir, dstName);
    } catch (e) {
      try {
        unlinkAt(dstDir, temp);
      } catch {}
      throw e;
    } finally {
      close(input);
    }
  } finally {
    close(handle);
  }
}

/** A link to the first copy of a file (found inside `root` again: what is there now may have been swapped); false to copy instead. */
function linkToFirst(root: number, first: string, dstDir: number, dstName: string): boolean {
  let fd: number;
  try {
    fd = openInRoot(root, first, O_PATH | O_NOFOLLOW);
  } catch {
    return false;
  }
  try {
    if (!fstat(fd).isFile()) return false;
    linkFdAt(fd, dstDir, dstName);
    return true;
  } catch {
    return false;
  } finally {
    close(fd);
  }
}

/** Copies the entry `srcName` of directory `srcDir` to `dstName` in `dstDir`, recursively. `rel`: its path below the copy's top. */
export function copyEntry(srcDir: number, srcName: string, dstDir: number, dstName: string, rules: CopyRules, shown: string, rel = dstName): void {
  if (rules.maxDepth !== undefined && rel.split("/").length > rules.maxDepth) throw new SyscallError("copy", Errno.ELOOP, `${shown}: deeper than ${rules.maxDepth} levels`);
  const st = statAtFd(srcDir, srcName);
  if (st.isSymbolicLink()) {
    const target = readlinkAt(srcDir, srcName);
    try {
      unlinkAt(dstDir, dstName);
    } catch (e) {
      if (!isErrno(e, Errno.ENOENT)) throw e;
    }
    symlinkAt(target, dstDir, dstName);
    if (rules.owner) lchownAt(dstDir, dstName, ...rules.owner(st));
  } else if (st.isDirectory()) {
    try {
      mkdirAt(dstDir, dstName, st.mode & rules.modeMask);
    } catch (e) {
      if (!isErrno(e, Errno.EEXIST)) throw e;
    }
    const from = openAt(srcDir, srcName, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
    try {
      const to = openAt(dstDir, dstName, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
      try {
        if (rules.owner) {
          fchown(to, ...rules.owner(st));
          fchmod(to, st.mode & rules.modeMask);
        }
        if (rules.layer && fgetxattr(from, rules.layer.opaqueXattr, shown) === "y") fsetxattr(to, rules.layer.opaqueXattr, "y", shown);
        for (const name of readdir(`/proc/self/fd/${from}`)) copyEntry(from, name, to, name, rules, `${shown}/${name}`, `${rel}/${name}`);
      } finally {
        close(to);
      }
    } finally {
      close(from);
    }
  } else if (st.isFile()) {
    const key = `${st.dev}:${st.ino}`;
    const first = st.nlink > 1 ? rules.hardLinks?.seen.get(key) : undefined;
    if (first !== undefined && linkToFirst(rules.hardLinks!.root, first, dstDir, dstName)) return;
    copyFile(srcDir, srcName, dstDir, dstName, rules, shown);
    if (st.nlink > 1) rules.hardLinks?.seen.set(key, rel);
  } else if (rules.layer && (st.isFIFO() || (st.isCharacterDevice() && st.rdev === 0))) {
    const path = `/proc/self/fd/${dstDir}/${dstName}`;
    mknod(path, st.isFIFO() ? S_IFIFO | 0o600 : S_IFCHR, 0, 0);
    if (rules.owner) lchownAt(dstDir, dstName, ...rules.owner(st));
    if (st.isFIFO()) chmod(path, st.mode & rules.modeMask);
  } else {
    rules.skipped(shown, "not a regular file, directory or symlink");
  }
}

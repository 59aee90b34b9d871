// `box cp` between the host and a running container, both ways. The container's side is reached
// through /proc/PID/root: its paths are resolved with openat2(RESOLVE_IN_ROOT), so a symlink in
// the container ("/etc/x -> /") points inside it, never at the host; below that, the tree is
// walked by descriptors with O_NOFOLLOW, so a link swapped in meanwhile (CVE-2021-30465 class)
// redirects nothing. Symlinks are copied as links; device nodes, fifos and sockets are skipped.
import {
  close, fchmod, fchown, fstat, lchownAt, mkdirAt, open, openAt, openInRoot, read, readdir, readlinkAt, renameAt, statAtFd, symlinkAt, unlinkAt,
  write, isErrno, type FileStat,
} from "../sys/fs.ts";
import { O_CREAT, O_DIRECTORY, O_EXCL, O_NOFOLLOW, O_NONBLOCK, O_PATH, O_RDONLY, O_WRONLY } from "../sys/constants.ts";
import { randomHex } from "../random.ts";
import { Errno } from "../sys/errors.ts";
import { basename, dirname, normalize } from "../path.ts";
import { log } from "../log.ts";
import { UserError } from "./errors.ts";
import { requireRunning } from "./live.ts";
import type { ContainerSpec } from "./spec.ts";
import type { Store } from "./store.ts";

/** One side of a copy: where paths are resolved (the host's root, or the container's). */
interface Side {
  /** A descriptor for `path`, resolved on this side. */
  open(path: string, flags: number): number;
  describe(path: string): string;
}

function hostSide(): Side {
  return { open: (path, flags) => open(path, flags), describe: (path) => path };
}

function containerSide(root: number, name: string): Side {
  return { open: (path, flags) => openInRoot(root, path, flags), describe: (path) => `${name}:${path}` };
}

/**
 * Neither side ever opens what the other put at a path: the source is opened as a path and
 * read only once fstat says it is a regular file (not a FIFO, not a disk's device node); the copy
 * is written under a new name and renamed over the target, which replaces whatever is there (a
 * file, a link, a device node) without opening it.
 */
/** What a copy keeps: the mode bits in `modeMask`; with `owner`, the owner it gives each entry. */
export interface CopyRules {
  modeMask: number;
  owner?: (st: FileStat) => [uid: number, gid: number];
}

function copyFile(srcDir: number, srcName: string, dstDir: number, dstName: string, rules: CopyRules, shown: string): void {
  const handle = openAt(srcDir, srcName, O_PATH | O_NOFOLLOW);
  try {
    const st = fstat(handle);
    if (!st.isFile()) return log.warn(`skipped ${shown}: not a regular file any more`);
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

/** Copies the entry `srcName` of directory `srcDir` to `dstName` in `dstDir`, recursively. */
export function copyEntry(srcDir: number, srcName: string, dstDir: number, dstName: string, rules: CopyRules, shown: string): void {
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
        for (const name of readdir(`/proc/self/fd/${from}`)) copyEntry(from, name, to, name, rules, `${shown}/${name}`);
      } finally {
        close(to);
      }
    } finally {
      close(from);
    }
  } else if (st.isFile()) {
    copyFile(srcDir, srcName, dstDir, dstName, rules, shown);
  } else {
    log.warn(`skipped ${shown}: not a regular file, directory or symlink`);
  }
}

/**
 * Docker's rules for where SRC lands: into DEST when that is a directory, else as DEST.
 * `modeMask`: the mode bits copies keep.
 */
function copyPath(src: Side, srcPath: string, dst: Side, dstPath: string, rules: CopyRules): void {
  const srcParent = src.open(dirname(srcPath), O_PATH | O_DIRECTORY);
  try {
    let st: FileStat;
    try {
      st = statAtFd(srcParent, basename(srcPath) || ".");
    } catch (e) {
      if (isErrno(e, Errno.ENOENT)) throw new UserError(`cannot copy ${src.describe(srcPath)}: no such file or directory`);
      throw e;
    }
    // DEST an existing directory: the copy goes inside it, under SRC's name.
    let into: number | undefined;
    try {
      into = dst.open(dstPath, O_PATH | O_DIRECTORY);
    } catch (e) {
      if (!isErrno(e, Errno.ENOENT) && !isErrno(e, Errno.ENOTDIR)) throw e;
      if (dstPath.endsWith("/") && !st.isDirectory()) throw new UserError(`cannot copy to ${dst.describe(dstPath)}: no such directory`);
    }
    const dstDir = into ?? dst.open(dirname(dstPath), O_PATH | O_DIRECTORY);
    try {
      const name = into !== undefined ? basename(srcPath) : basename(dstPath);
      if (!name) throw new UserError(`cannot copy ${src.describe(srcPath)} over ${dst.describe(dstPath)}`);
      copyEntry(srcParent, basename(srcPath) || ".", dstDir, name, rules, src.describe(srcPath));
    } finally {
      close(dstDir);
    }
  } finally {
    close(srcParent);
  }
}

/** `CONTAINER:PATH` or a host path. */
export function parseCopyArg(arg: string): { container?: string; path: string } {
  const m = /^([a-zA-Z0-9][a-zA-Z0-9_.-]*):(.*)$/.exec(arg);
  if (m && !arg.startsWith("/") && !arg.startsWith(".")) return { container: m[1], path: m[2] || "/" };
  return { path: arg };
}

/** Copies between the host and the container `spec`; `toContainer` says which way. */
export function copyWithContainer(store: Store, spec: ContainerSpec, containerPath: string, hostPath: string, toContainer: boolean): void {
  const c = requireRunning(store, spec);
  const absolute = normalize(containerPath.startsWith("/") ? containerPath : `${spec.workdir}/${containerPath}`);
  const root = open(`/proc/${c.pid}/root`, O_PATH | O_DIRECTORY);
  try {
    const inside = containerSide(root, spec.name);
    const keepSlash = (p: string, original: string) => (original.endsWith("/") && p !== "/" ? `${p}/` : p);
    // Out of a container, no setuid, setgid or sticky bit: it must not plant a setuid-root file.
    if (toContainer) copyPath(hostSide(), hostPath, inside, keepSlash(absolute, containerPath), { modeMask: 0o7777 });
    else copyPath(inside, absolute, hostSide(), hostPath, { modeMask: 0o777 });
  } catch (e) {
    if (isErrno(e, Errno.ENOENT)) throw new UserError(`cannot copy: ${(e as Error).message}`);
    throw e;
  } finally {
    close(root);
  }
}

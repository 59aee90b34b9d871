// `box cp` between the host and a running container, both ways. The container's side is reached
// through /proc/PID/root: its paths are resolved with openat2(RESOLVE_IN_ROOT), so a symlink in
// the container ("/etc/x -> /") points inside it, never at the host; below that, the tree is
// walked by descriptors with O_NOFOLLOW, so a link swapped in meanwhile (CVE-2021-30465 class)
// redirects nothing. Symlinks are copied as links; device nodes, fifos and sockets are skipped.
import { close, isErrno, open, openInRoot, statAtFd, type FileStat } from "../sys/fs.ts";
import { copyEntry, type CopyRules } from "../sys/copy-tree.ts";
import { O_DIRECTORY, O_PATH } from "../sys/constants.ts";
import { Errno } from "../sys/errors.ts";
import { basename, dirname, normalize } from "../path.ts";
import { log } from "../log.ts";
import { UserError } from "./errors.ts";
import { requireRunning } from "./live.ts";
import type { ContainerSpec } from "./spec.ts";
import type { Store } from "./store.ts";

const skipped = (shown: string, why: string) => log.warn(`skipped ${shown}: ${why}`);

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
    if (toContainer) copyPath(hostSide(), hostPath, inside, keepSlash(absolute, containerPath), { modeMask: 0o7777, skipped });
    else copyPath(inside, absolute, hostSide(), hostPath, { modeMask: 0o777, skipped });
  } catch (e) {
    if (isErrno(e, Errno.ENOENT)) throw new UserError(`cannot copy: ${(e as Error).message}`);
    throw e;
  } finally {
    close(root);
  }
}

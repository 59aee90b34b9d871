// Directory trees into tar archives: a container's whole filesystem as overlayfs shows it (its
// layers merged, `box export`), or its own layer with overlayfs' whiteouts turned back into the
// image spec's .wh. files (`box commit`).
//
// The upper dir belongs to a container that may be running and hostile: it can swap a directory
// for a symlink to the host at any moment, or a file for a device node. So the walk goes by
// descriptors: every entry is opened O_PATH|O_NOFOLLOW below its parent's descriptor, and only
// once fstat of that descriptor says it is a directory or a regular file is it opened for reading
// (a FIFO or device node never is, a link is never followed); an entry that vanishes or changes
// meanwhile is left out.
import { Errno } from "../sys/errors.ts";
import { close, fgetxattr, fstat, isErrno, open, openAt, raiseFileLimit, readdir, readlinkAt, statAtFd, type FileStat } from "../sys/fs.ts";
import { AT_FDCWD, O_DIRECTORY, O_NOFOLLOW, O_NONBLOCK, O_PATH, O_RDONLY } from "../sys/constants.ts";
import { UserError } from "../container/errors.ts";
import { OPAQUE_MARKER, opaqueXattr, WHITEOUT_PREFIX } from "./whiteout.ts";
import type { TarWriteHeader, TarWriter } from "./tar-writer.ts";

export interface ArchiveCount {
  entries: number;
  /** Device nodes and sockets, which no image carries. */
  skipped: number;
}

/** The merged view of `dirs` (top layer first), as overlayfs would show it. */
export function archiveMerged(tar: TarWriter, dirs: string[]): ArchiveCount {
  raiseFileLimit();
  const out = new EntryWriter(tar);
  const roots = dirs.map((dir) => openAt(AT_FDCWD, dir, O_RDONLY | O_DIRECTORY));
  try {
    out.walkMerged("", roots);
  } finally {
    roots.forEach(close);
  }
  return out.count;
}

/** A container's own layer (its overlayfs upper dir) as an image layer. */
export function archiveLayer(tar: TarWriter, dir: string): ArchiveCount {
  raiseFileLimit();
  const out = new EntryWriter(tar);
  const root = openAt(AT_FDCWD, dir, O_RDONLY | O_DIRECTORY);
  try {
    out.walkLayer("", root);
  } finally {
    close(root);
  }
  return out.count;
}

interface Merged {
  /** The directory descriptor and stat of the topmost entry (undefined: whited out). */
  top?: { dirfd: number; st: FileStat };
  /** Directories below that merge into a directory on top. */
  below: number[];
  /** A layer in between hid everything further down (opaque dir, file, whiteout). */
  closed: boolean;
}

class EntryWriter {
  readonly count: ArchiveCount = { entries: 0, skipped: 0 };
  // The first path of each multiply-linked file, so its other names become hardlinks.
  private readonly links = new Map<string, string>();

  constructor(private readonly tar: TarWriter) {}

  /** `dirs`: descriptors of the directory `rel` in each layer where it exists, top first. */
  walkMerged(rel: string, dirs: number[], depth = 0): void {
    tooDeep(rel, depth);
    const merged = new Map<string, Merged>();
    for (const dirfd of dirs) {
      for (const name of names(dirfd)) {
        const st = statOrUndefined(dirfd, name);
        if (!st) continue;
        const known = merged.get(name);
        if (!known) {
          if (isWhiteout(st)) merged.set(name, { below: [], closed: true });
          else merged.set(name, { top: { dirfd, st }, below: [], closed: !st.isDirectory() || isOpaque(dirfd, name) });
          continue;
        }
        if (known.closed) continue;
        // Below a directory: another directory merges in (and may end the merge), anything else ends it.
        if (st.isDirectory()) known.below.push(dirfd);
        if (!st.isDirectory() || isOpaque(dirfd, name)) known.closed = true;
      }
    }
    for (const name of [...merged.keys()].sort()) {
      const { top, below } = merged.get(name)!;
      if (!top) continue;
      const path = rel ? `${rel}/${name}` : name;
      const opened = this.entry(path, top.dirfd, name, top.st);
      if (opened === undefined) continue;
      const children = [opened, ...below.flatMap((fd) => openDirOrNone(fd, name))];
      try {
        this.walkMerged(path, children, depth + 1);
      } finally {
        children.forEach(close);
      }
    }
  }

  walkLayer(rel: string, dirfd: number, depth = 0): void {
    tooDeep(rel, depth);
    for (const name of names(dirfd).sort()) {
      const st = statOrUndefined(dirfd, name);
      if (!st) continue;
      const path = rel ? `${rel}/${name}` : name;
      if (isWhiteout(st)) {
        this.marker(rel ? `${rel}/${WHITEOUT_PREFIX}${name}` : `${WHITEOUT_PREFIX}${name}`, st);
        continue;
      }
      const opened = this.entry(path, dirfd, name, st);
      if (opened === undefined) continue;
      try {
        if (fgetxattr(opened, opaqueXattr(), path) === "y") this.marker(`${path}/${OPAQUE_MARKER}`, st);
        this.walkLayer(path, opened, depth + 1);
      } finally {
        close(opened);
      }
    }
  }

  /** Archives one entry; for a directory, returns its open descriptor (the caller closes it). */
  private entry(path: string, dirfd: number, name: string, st: FileStat): number | undefined {
    const base: Omit<TarWriteHeader, "type"> = { path, mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, mtime: Math.floor(st.mtimeMs / 1000) };
    if (st.isSymbolicLink()) {
      const linkname = ignoreVanished(() => readlinkAt(dirfd, name));
      if (linkname !== undefined) this.add({ ...base, type: "symlink", linkname });
      return undefined;
    }
    if (st.isFIFO()) return void this.add({ ...base, type: "fifo" });
    if (!st.isDirectory() && !st.isFile()) return void this.count.skipped++;
    const fd = openChecked(dirfd, name, st);
    if (fd === undefined) return undefined;
    const now = fstat(fd);
    if (now.isDirectory()) {
      this.add({ ...base, type: "dir" });
      return fd;
    }
    try {
      if (now.nlink > 1) {
        const key = `${now.dev}:${now.ino}`;
        const first = this.links.get(key);
        if (first !== undefined) return void this.add({ ...base, type: "hardlink", linkname: first });
        this.links.set(key, path);
      }
      this.add({ ...base, type: "file", size: now.size }, { fd });
    } finally {
      close(fd);
    }
    return undefined;
  }

  /** An empty regular file that means something to image tools (.wh.NAME, .wh..wh..opq). */
  private marker(path: string, st: FileStat): void {
    this.add({ path, type: "file", mode: 0o644, uid: 0, gid: 0, mtime: Math.floor(st.mtimeMs / 1000), size: 0 });
  }

  private add(header: TarWriteHeader, body?: { fd: number }): void {
    this.count.entries++;
    this.tar.add(header, body);
  }

}

/** Whether the directory `name` hides what layers below have there (overlayfs' opaque xattr). */
export function isOpaque(dirfd: number, name: string): boolean {
  const fd = openDirOrNone(dirfd, name)[0];
  if (fd === undefined) return false;
  try {
    return fgetxattr(fd, opaqueXattr(), name) === "y";
  } finally {
    close(fd);
  }
}

export function names(dirfd: number): string[] {
  return readdir(`/proc/self/fd/${dirfd}`);
}

export function isWhiteout(st: FileStat): boolean {
  return st.isCharacterDevice() && st.rdev === 0;
}

export function statOrUndefined(dirfd: number, name: string): FileStat | undefined {
  return ignoreVanished(() => statAtFd(dirfd, name));
}

/** The deepest a tree may go: no path, tar name or stack of box's is made for more. */
const MAX_DEPTH = 4096;

export function tooDeep(rel: string, depth: number, verb = "archive"): void {
  if (depth > MAX_DEPTH) throw new UserError(`the filesystem is nested more than ${MAX_DEPTH} directories deep (at ${JSON.stringify(rel.slice(0, 60))}…): box does not ${verb} it`);
}

/**
 * `name` opened for reading only if it is still what `st` saw (same inode, a directory or a
 * regular file): first as a path (which opens nothing), then, checked, through /proc/self/fd.
 */
function openChecked(dirfd: number, name: string, st: FileStat): number | undefined {
  const path = ignoreVanished(() => openAt(dirfd, name, O_PATH | O_NOFOLLOW));
  if (path === undefined) return undefined;
  try {
    const now = fstat(path);
    if (now.ino !== st.ino || now.isDirectory() !== st.isDirectory() || now.isFile() !== st.isFile() || !(now.isDirectory() || now.isFile())) return undefined;
    return ignoreVanished(() => open(`/proc/self/fd/${path}`, O_RDONLY | O_NONBLOCK | (now.isDirectory() ? O_DIRECTORY : 0)));
  } finally {
    close(path);
  }
}

export function openDirOrNone(dirfd: number, name: string): number[] {
  const fd = ignoreVanished(() => openAt(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW));
  return fd === undefined ? [] : [fd];
}

// A running container may remove, or replace by something else, what was just listed.
const VANISHED = [Errno.ENOENT, Errno.ELOOP, Errno.ENOTDIR, Errno.EINVAL, Errno.ENXIO, Errno.ENODEV];

function ignoreVanished<T>(fn: () => T): T | undefined {
  try {
    return fn();
  } catch (err) {
    if (VANISHED.some((e) => isErrno(err, e))) return undefined;
    throw err;
  }
}

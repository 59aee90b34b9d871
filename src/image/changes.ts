// What a container changed in its filesystem, as `docker diff` reports it: its own layer (the
// overlayfs upper dir) read against the image's layers below. Docker 28 compares the container's
// whole tree with the image's; the upper dir holds everything that can differ, so box reads
// only it, and the layers below where it names something.
//
// Docker's rules (moby's ChangesDirs): a path that is new is A, and so is everything in a new
// directory; a path whose type, mode, owner or device changed, or (not a directory) whose size or
// mtime changed, is C; a path that is gone is D (not what it held); a directory holding a change
// is C too. A whiteout (0/0 character device) is a deletion; an opaque directory replaced the one
// below, so what that one held and the new one lacks is deleted.
//
// The upper dir belongs to a container that may be running and hostile: it is walked by
// descriptors, never following a link, and an entry that vanishes meanwhile is left out (as
// tree-archive.ts does).
import { AT_FDCWD, O_DIRECTORY, O_NOFOLLOW, O_RDONLY } from "../sys/constants.ts";
import { close, openAt, raiseFileLimit, type FileStat } from "../sys/fs.ts";
import { isOpaque, isWhiteout, names, openDirOrNone, statOrUndefined, tooDeep } from "./tree-archive.ts";

export type ChangeKind = "A" | "C" | "D";

/** How the owner of a file below reads in the upper dir (with a user namespace: its host ids). */
export type OwnerMap = (uid: number, gid: number) => [number, number];

/**
 * What Docker's init layer holds (box's mount points): never reported. A mount covers each, so the
 * container changes nothing below them; box makes them when the image lacks them.
 */
const MOUNT_POINTS = new Set(["dev", "proc", "sys", "etc/hosts", "etc/hostname", "etc/resolv.conf"]);
/** A directory Docker's init layer makes for its mount points: present before the container, for
 * an image that lacks it. */
const MOUNT_PARENTS = new Set(["etc"]);

/** An entry of the layers below the upper dir, as overlayfs merges them. */
interface Below {
  st: FileStat;
  /** Layers (indices into the level's descriptors) whose directory of this name merges in. */
  dirs: number[];
}

/** One directory being compared: its upper dir, the directories below it, top first. */
interface Level {
  rel: string;
  upper: number;
  lowers: number[];
  /** The upper dir's entries are all there is (an opaque or a new directory, or one inside). */
  covers: boolean;
}

/**
 * Calls `emit` for every change in `upper` over `layers` (top first): a directory before what
 * it holds, the entries of a directory by name.
 */
export function layerChanges(upper: string, layers: string[], owner: OwnerMap, emit: (kind: ChangeKind, path: string) => void): void {
  raiseFileLimit();
  const walk = new ChangeWalk(owner, emit);
  const fds = [upper, ...layers].map((dir) => openAt(AT_FDCWD, dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW));
  try {
    walk.level({ rel: "", upper: fds[0]!, lowers: fds.slice(1), covers: false }, 0);
  } finally {
    fds.forEach(close);
  }
}

class ChangeWalk {
  /** The directories being walked, outermost first; `shown` once reported (as C, or A). */
  private readonly open: { path: string; shown: boolean }[] = [];

  constructor(
    private readonly owner: OwnerMap,
    private readonly emit: (kind: ChangeKind, path: string) => void,
  ) {}

  level(dir: Level, depth: number): void {
    tooDeep(dir.rel, depth, "compare");
    const upperNames = new Set(names(dir.upper));
    // Below an opaque directory, what was there and is not in the upper dir is gone.
    const gone = dir.covers ? [...mergedNames(dir.lowers)].filter((n) => !upperNames.has(n)) : [];
    for (const name of [...upperNames, ...gone].sort()) {
      const rel = dir.rel ? `${dir.rel}/${name}` : name;
      if (MOUNT_POINTS.has(rel)) continue;
      const below = lookupBelow(dir.lowers, name);
      const st = upperNames.has(name) ? statOrUndefined(dir.upper, name) : undefined;
      if (!st || isWhiteout(st)) {
        if (below) this.report("D", rel);
        continue;
      }
      if (!below && !(MOUNT_PARENTS.has(rel) && st.isDirectory())) {
        this.report("A", rel);
        if (st.isDirectory()) this.descend(dir, name, rel, [], true, true, depth);
        continue;
      }
      const changed = below !== undefined && this.differs(below.st, st);
      if (changed) this.report("C", rel);
      if (!st.isDirectory()) continue;
      const wasDir = below?.st.isDirectory() === true;
      const lowers = wasDir ? below.dirs.flatMap((i) => openDirOrNone(dir.lowers[i]!, name)) : [];
      try {
        this.descend(dir, name, rel, lowers, changed, dir.covers || !wasDir || isOpaque(dir.upper, name), depth);
      } finally {
        lowers.forEach(close);
      }
    }
  }

  private descend(dir: Level, name: string, rel: string, lowers: number[], shown: boolean, covers: boolean, depth: number): void {
    const upper = openDirOrNone(dir.upper, name)[0];
    if (upper === undefined) return;
    this.open.push({ path: rel, shown });
    try {
      this.level({ rel, upper, lowers, covers }, depth + 1);
    } finally {
      this.open.pop();
      close(upper);
    }
  }

  /** A change, after the directories it is in that were not reported yet (as C). */
  private report(kind: ChangeKind, rel: string): void {
    for (const d of this.open) {
      if (d.shown) continue;
      d.shown = true;
      this.emit("C", `/${d.path}`);
    }
    this.emit(kind, `/${rel}`);
  }

  /** Docker's statDifferent: a directory's size and mtime say nothing (they change with what it holds). */
  private differs(was: FileStat, now: FileStat): boolean {
    const [uid, gid] = this.owner(was.uid, was.gid);
    if (was.mode !== now.mode || uid !== now.uid || gid !== now.gid || was.rdev !== now.rdev) return true;
    return !now.isDirectory() && (was.size !== now.size || !sameTime(was.mtimeMs, now.mtimeMs));
  }
}

/**
 * Docker's sameFsTime: equal, or the same second where one has no fraction (a tar archive keeps
 * whole seconds).
 */
function sameTime(a: number, b: number): boolean {
  return a === b || (Math.floor(a / 1000) === Math.floor(b / 1000) && (a % 1000 === 0 || b % 1000 === 0));
}

/** `name` in the layers below, as overlayfs shows it: the topmost entry, unless a whiteout. */
function lookupBelow(lowers: number[], name: string): Below | undefined {
  let found: Below | undefined;
  for (const [i, fd] of lowers.entries()) {
    const st = statOrUndefined(fd, name);
    if (!st) continue;
    if (!found) {
      if (isWhiteout(st)) return undefined;
      found = { st, dirs: st.isDirectory() ? [i] : [] };
      if (!st.isDirectory() || isOpaque(fd, name)) return found;
      continue;
    }
    // A directory merges with the directories below it, down to an opaque one or anything else.
    if (!st.isDirectory()) return found;
    found.dirs.push(i);
    if (isOpaque(fd, name)) return found;
  }
  return found;
}

/** The names a directory of the layers below shows (their whiteouts hide what is further down). */
function mergedNames(lowers: number[]): Set<string> {
  const shown = new Set<string>();
  const hidden = new Set<string>();
  for (const fd of lowers) {
    for (const name of names(fd)) {
      if (shown.has(name) || hidden.has(name)) continue;
      const st = statOrUndefined(fd, name);
      if (st && !isWhiteout(st)) shown.add(name);
      else if (st) hidden.add(name);
    }
  }
  return shown;
}

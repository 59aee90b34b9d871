// A stage's or an image's files as its stacked layers show them (overlayfs' rules, without a
// mount: the CLI is multi-threaded and cannot make a mount namespace of its own), for COPY
// --from, COPY's parent directories and --chown's names. Every layer is box's extracted copy;
// a link in it is never followed on the host: links are resolved here, inside the stack's root.
import { close, fgetxattr, isErrno, lstat, open, readdir, readlink, type FileStat } from "../sys/fs.ts";
import { O_DIRECTORY, O_NOFOLLOW, O_RDONLY } from "../sys/constants.ts";
import { Errno } from "../sys/errors.ts";
import { join } from "../path.ts";
import { opaqueXattr } from "../image/whiteout.ts";
import { BuildError } from "./errors.ts";

/** What a path is in the stack: its topmost copy, and for a directory every layer's that shows through. */
export interface ViewEntry {
  /** The path below the stack's root, links resolved. */
  path: string;
  st: FileStat;
  /** Real paths of the topmost copy first; more than one only for a directory. */
  copies: string[];
}

const MAX_LINKS = 40;

function lstatOrNone(path: string): FileStat | undefined {
  try {
    return lstat(path);
  } catch (e) {
    if (isErrno(e, Errno.ENOENT) || isErrno(e, Errno.ENOTDIR)) return undefined;
    throw e;
  }
}

const isWhiteout = (st: FileStat) => st.isCharacterDevice() && st.rdev === 0;

export class LayerView {
  /** `dirs`: layer directories, top first. */
  constructor(private readonly dirs: string[]) {}

  /** The entry at `path` (absolute inside the stack); links followed, the last one too when `follow`. */
  lookup(path: string, follow = true): ViewEntry | undefined {
    let links = 0;
    let todo = path.split("/").filter((c) => c && c !== ".");
    let done: string[] = [];
    let copies = [...this.dirs];
    let entry: ViewEntry | undefined = { path: "/", st: lstat(this.dirs.at(-1) ?? "/"), copies };
    if (!this.dirs.length) return todo.length ? undefined : entry;
    while (todo.length) {
      const name = todo.shift()!;
      if (name === "..") {
        done.pop();
        todo = [...done, ...todo];
        done = [];
        copies = [...this.dirs];
        continue;
      }
      const found = mergedChild(copies, name);
      if (!found) return undefined;
      if (found.st.isSymbolicLink() && (todo.length || follow)) {
        if (++links > MAX_LINKS) throw new BuildError(`too many levels of symbolic links: ${path}`);
        const target = readlink(found.copies[0]!);
        todo = [...(target.startsWith("/") ? [] : done), ...target.split("/").filter((c) => c && c !== "."), ...todo];
        done = [];
        copies = [...this.dirs];
        continue;
      }
      done.push(name);
      entry = { path: `/${done.join("/")}`, st: found.st, copies: found.copies };
      if (todo.length && !found.st.isDirectory()) return undefined;
      copies = found.copies;
    }
    return entry;
  }
}

/** A directory that hides the ones below it (overlayfs' opaque xattr, as box extracts layers). */
function isOpaqueDir(path: string): boolean {
  const fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
  try {
    return fgetxattr(fd, opaqueXattr(), path) === "y";
  } finally {
    close(fd);
  }
}

/** The names of a directory whose copies (top first) are `copies`, as the stack shows them. */
export function mergedNames(copies: string[]): string[] {
  const names = new Set<string>();
  const hidden = new Set<string>();
  for (const copy of copies) {
    for (const name of readdir(copy)) {
      if (hidden.has(name) || names.has(name)) continue;
      const st = lstatOrNone(join(copy, name));
      if (!st) continue;
      if (isWhiteout(st)) hidden.add(name);
      else names.add(name);
    }
  }
  return [...names].sort();
}

/** The child `name` of a directory whose copies (top first) are `copies`. */
export function mergedChild(copies: string[], name: string): { st: FileStat; copies: string[] } | undefined {
  for (let i = 0; i < copies.length; i++) {
    const path = join(copies[i]!, name);
    const st = lstatOrNone(path);
    if (!st) continue;
    if (isWhiteout(st)) return undefined;
    if (!st.isDirectory()) return { st, copies: [path] };
    const below: string[] = [path];
    // A directory merges with the ones below it, down to an opaque one or anything else.
    if (!isOpaqueDir(path)) {
      for (const lower of copies.slice(i + 1)) {
        const p = join(lower, name);
        const s = lstatOrNone(p);
        if (!s || !s.isDirectory()) break;
        below.push(p);
        if (isOpaqueDir(p)) break;
      }
    }
    return { st, copies: below };
  }
  return undefined;
}

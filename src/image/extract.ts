// Writes a tar into a new, empty directory, treating the archive as hostile: nothing may land
// outside the directory, and nothing is written through a symlink the archive planted.
//
// Only this process writes the directory while it is extracted, so every directory in it is one
// we made and recorded in a tree. A parent component that is not in the tree is, therefore, a
// symlink or file from the archive; refusing it is what keeps writes inside.
import { isRootless } from "../sys/process.ts";
import {
  closeSync, constants, fchmodSync, fchownSync, futimesSync, lchownSync, linkSync, lstatSync, lutimesSync,
  mkdirSync, openSync, rmSync, symlinkSync, unlinkSync, writeSync, type Stats,
} from "node:fs";
import { join } from "../path.ts";
import { UserError } from "../container/errors.ts";
import { check, cstr, libc } from "../sys/libc.ts";
import { describeError } from "../sys/errors.ts";
import { S_IFCHR, S_IFIFO } from "../sys/constants.ts";
import { fsetxattr, isErrno } from "../sys/fs.ts";
import { Errno } from "../sys/errors.ts";
import { mknod } from "../sys/mount.ts";
import { AUFS_META_PREFIX, OPAQUE_MARKER, opaqueXattr, WHITEOUT_PREFIX } from "./whiteout.ts";
import { normalizeEntryPath, quotePath } from "./entry-path.ts";
import type { TarEntry, TarHeader } from "./tar.ts";

export const DEFAULT_MAX_ENTRIES = 1_000_000;

const { O_WRONLY, O_RDONLY, O_CREAT, O_EXCL, O_NOFOLLOW, O_DIRECTORY, O_NONBLOCK } = constants;

export interface ExtractOptions {
  maxEntries?: number;
  /** Upper bound on the bytes of file content written (a decompression bomb stops there). */
  maxBytes?: number;
}

export interface ExtractResult {
  entries: number;
  /** Bytes of the regular files written. */
  bytes: number;
  skipped: {
    /** Device nodes: a container gets its devices from the engine, never from an image. */
    devices: number;
  };
}

interface Metadata {
  mode: number;
  uid: number;
  gid: number;
  /** Undefined for directories the archive implies but never lists: their time is left alone. */
  mtime: number | undefined;
}

// A directory we created (or adopted), with the metadata to give it once extraction is done.
class DirNode {
  readonly children = new Map<string, DirNode>();
  /** Hides what lower layers have in this directory. */
  opaque = false;
  constructor(public meta: Metadata) {}
}

const IMPLIED_DIR: Metadata = { mode: 0o755, uid: 0, gid: 0, mtime: undefined };

export async function extractTar(entries: AsyncIterable<TarEntry>, dest: string, opts: ExtractOptions = {}): Promise<ExtractResult> {
  const extractor = new Extractor(dest, opts.maxBytes ?? Infinity);
  const maxEntries = opts.maxEntries ?? DEFAULT_MAX_ENTRIES;
  const result: ExtractResult = { entries: 0, bytes: 0, skipped: { devices: 0 } };
  for await (const entry of entries) {
    if (++result.entries > maxEntries) throw new UserError(`refusing archive: more than ${maxEntries} entries`);
    const outcome = await extractor.add(entry);
    if (outcome === "devices") result.skipped.devices++;
    else if (entry.type === "file") result.bytes += entry.size;
  }
  extractor.finish();
  return result;
}

class Extractor {
  // The rootfs root: an archive's "./" entry sets its metadata, else it gets a root-owned 0755.
  private readonly root = new DirNode({ ...IMPLIED_DIR });

  private written = 0;

  constructor(
    private readonly dest: string,
    private readonly maxBytes: number,
  ) {}

  async add(entry: TarEntry): Promise<"written" | "devices" | "ignored"> {
    const components = this.components(entry, entry.path);
    const last = components.at(-1);
    if (last?.startsWith(WHITEOUT_PREFIX)) return this.whiteout(entry, components, last);
    if (entry.type === "char" || entry.type === "block") return "devices";
    if (components.length === 0) {
      if (entry.type !== "dir") throw refuse(entry, "empty path");
      this.root.meta = metadataOf(entry);
      return "written";
    }
    try {
      await this.create(entry, components);
    } catch (err) {
      if (err instanceof UserError) throw err;
      throw new UserError(`cannot extract entry ${quotePath(entry.path)}: ${describeError(err)}`);
    }
    return "written";
  }

  private whiteout(entry: TarEntry, components: string[], last: string): "written" | "ignored" {
    const parent = this.parentOf(entry, components);
    if (last === OPAQUE_MARKER) {
      parent.opaque = true;
      return "written";
    }
    if (last.startsWith(AUFS_META_PREFIX)) return "ignored";
    const name = last.slice(WHITEOUT_PREFIX.length);
    const hidden = [...components.slice(0, -1), name];
    // The name must be one a real entry could have: no "", ".", "..", no way out.
    if (name === "" || this.components(entry, hidden.join("/")).length !== hidden.length) throw refuse(entry, "whiteout of an invalid name");
    const path = join(this.dest, ...hidden);
    this.clear(parent, name, path, false);
    try {
      // A 0/0 character device needs no CAP_MKNOD (Linux 5.8), so rootless extraction makes it too.
      mknod(path, S_IFCHR, 0, 0);
    } catch (err) {
      throw new UserError(`cannot extract whiteout ${quotePath(entry.path)}: ${describeError(err)}`);
    }
    return "written";
  }

  /** Gives every directory its mode, owner and time, children first: now that nothing more is
   * written into them, a read-only directory or its mtime can no longer be disturbed. */
  finish(): void {
    const apply = (node: DirNode, path: string): void => {
      for (const [name, child] of node.children) apply(child, join(path, name));
      const fd = openSync(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
      try {
        if (node.opaque) setOpaque(fd, path, path.slice(this.dest.length) || "/");
        setMetadata(fd, node.meta);
      } finally {
        closeSync(fd);
      }
    };
    try {
      apply(this.root, this.dest);
    } catch (err) {
      if (err instanceof UserError) throw err;
      throw new UserError(`cannot set directory metadata: ${describeError(err)}`);
    }
  }

  private async create(entry: TarEntry, components: string[]): Promise<void> {
    const parent = this.parentOf(entry, components);
    const name = components.at(-1)!;
    const path = join(this.dest, ...components);
    // Resolved before clear(): a link to the very name it replaces would lose its target.
    const linkTarget = entry.type === "hardlink" ? this.hardlinkTarget(entry, path) : undefined;
    const existing = this.clear(parent, name, path, entry.type === "dir");
    switch (entry.type) {
      case "dir":
        if (existing) existing.meta = metadataOf(entry);
        else {
          mkdirSync(path, 0o700);
          parent.children.set(name, new DirNode(metadataOf(entry)));
        }
        return;
      case "file":
        return this.writeFile(entry, path);
      case "symlink":
        symlinkSync(entry.linkname, path);
        if (OWNERS_KEPT) lchownSync(path, entry.uid, entry.gid);
        lutimesSync(path, asDate(entry.mtime), asDate(entry.mtime));
        return;
      case "hardlink":
        linkSync(linkTarget!, path);
        return;
      case "fifo":
        return makeFifo(entry, path);
    }
  }

  private components(entry: TarHeader, raw: string, role = "path"): string[] {
    const normalized = normalizeEntryPath(raw);
    if ("problem" in normalized) throw refuse(entry, role === "path" ? normalized.problem : `${role} ${quotePath(raw)}: ${normalized.problem}`);
    return normalized.components;
  }

  /** The directory node for all but the last component, creating missing ones (as tar does for
   * archives that list only files). */
  private parentOf(entry: TarHeader, components: string[]): DirNode {
    let node = this.root;
    for (let i = 0; i < components.length - 1; i++) {
      const name = components[i]!;
      let child = node.children.get(name);
      if (!child) {
        const path = join(this.dest, ...components.slice(0, i + 1));
        const stat = lstatOrUndefined(path);
        if (stat && !stat.isDirectory()) throw refuse(entry, `parent ${quotePath(components.slice(0, i + 1).join("/"))} ${whatIs(stat)}`);
        if (!stat) mkdirSync(path, 0o700);
        child = new DirNode({ ...IMPLIED_DIR });
        node.children.set(name, child);
      }
      node = child;
    }
    return node;
  }

  /** Removes whatever the archive put at `name` before, without following it. A directory is
   * kept when the new entry is a directory too (later entries refine earlier ones). */
  private clear(parent: DirNode, name: string, path: string, keepDirectory: boolean): DirNode | undefined {
    const dir = parent.children.get(name);
    if (dir) {
      if (keepDirectory) return dir;
      // rm -r removes symlinks inside as links; it never descends through them.
      rmSync(path, { recursive: true, force: true });
      parent.children.delete(name);
      return undefined;
    }
    if (lstatOrUndefined(path)) unlinkSync(path);
    return undefined;
  }

  /** The hardlink target, which must be a regular file the archive already put in the rootfs,
   * reached through our own directories only. */
  private hardlinkTarget(entry: TarHeader, linkPath: string): string {
    const components = this.components(entry, entry.linkname, "hardlink target");
    const shown = quotePath(entry.linkname);
    if (components.length === 0) throw refuse(entry, `hardlink target ${shown} is the rootfs itself`);
    let node = this.root;
    for (let i = 0; i < components.length - 1; i++) {
      const child = node.children.get(components[i]!);
      if (!child) {
        const parent = components.slice(0, i + 1);
        const stat = lstatOrUndefined(join(this.dest, ...parent));
        throw refuse(entry, `hardlink target ${shown} ${stat ? `goes through ${quotePath(parent.join("/"))}, which ${whatIs(stat)}` : "does not exist"}`);
      }
      node = child;
    }
    const path = join(this.dest, ...components);
    if (path === linkPath) throw refuse(entry, "hardlink points to itself");
    const stat = lstatOrUndefined(path);
    if (!stat?.isFile()) throw refuse(entry, `hardlink target ${shown} ${stat ? whatIs(stat) : "does not exist"} (it must be a regular file earlier in the archive)`);
    return path;
  }

  private async writeFile(entry: TarEntry, path: string): Promise<void> {
    // O_EXCL|O_NOFOLLOW: if anything sits at the name despite clear(), fail instead of writing through it.
    const fd = openSync(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600);
    try {
      for await (const chunk of entry.body()) {
        this.written += chunk.length;
        if (this.written > this.maxBytes) throw new UserError(`refusing archive: it unpacks to more than ${this.maxBytes} bytes (a decompression bomb, or too little disk space)`);
        for (let written = 0; written < chunk.length; ) written += writeSync(fd, chunk, written, chunk.length - written);
      }
      setMetadata(fd, metadataOf(entry));
    } finally {
      closeSync(fd);
    }
  }
}

function makeFifo(entry: TarHeader, path: string): void {
  check(libc.mknod(cstr(path), S_IFIFO | 0o600, 0), "mknod", path);
  // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer.
  const fd = openSync(path, O_RDONLY | O_NONBLOCK | O_NOFOLLOW);
  try {
    setMetadata(fd, metadataOf(entry));
  } finally {
    closeSync(fd);
  }
}

/**
 * Only root can give files away. A rootless box keeps them its user's, which its containers see
 * as root's (their user namespace maps root to that user), as a single-id rootless Podman does.
 */
const OWNERS_KEPT = !isRootless();

// chown before chmod: changing the owner clears setuid/setgid bits.
function setMetadata(fd: number, meta: Metadata): void {
  if (OWNERS_KEPT) fchownSync(fd, meta.uid, meta.gid);
  fchmodSync(fd, meta.mode);
  if (meta.mtime !== undefined) futimesSync(fd, asDate(meta.mtime), asDate(meta.mtime));
}

function setOpaque(fd: number, path: string, shown: string): void {
  try {
    fsetxattr(fd, opaqueXattr(), "y", path);
  } catch (err) {
    // Only the user.* name is left to a rootless box, and some filesystems keep none.
    if (!isErrno(err, Errno.EOPNOTSUPP)) throw err;
    throw new UserError(`the image has an opaque directory (${quotePath(shown)}), which needs the ${opaqueXattr()} extended attribute: the store's filesystem keeps none (tmpfs before Linux 6.6 has no user.* attributes)`);
  }
}

// node:fs takes a negative number of seconds to mean "now"; a Date keeps times before 1970.
function asDate(seconds: number): Date {
  return new Date(seconds * 1000);
}

function metadataOf(entry: TarHeader): Metadata {
  return { mode: entry.mode, uid: entry.uid, gid: entry.gid, mtime: entry.mtime };
}

function lstatOrUndefined(path: string): Stats | undefined {
  return lstatSync(path, { throwIfNoEntry: false });
}

function whatIs(stat: Stats): string {
  if (stat.isSymbolicLink()) return "is a symlink";
  if (stat.isDirectory()) return "is a directory";
  return stat.isFile() ? "is a regular file" : "is a special file";
}

function refuse(entry: TarHeader, reason: string): UserError {
  return new UserError(`refusing entry ${quotePath(entry.path)}: ${reason}`);
}

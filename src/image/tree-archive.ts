// Directory trees into tar archives: a container's whole filesystem as overlayfs shows it (its
// layers merged, `box export`), or its own layer with overlayfs' whiteouts turned back into the
// image spec's .wh. files (`box commit`). Nothing is followed: links are archived as links.
import { lstatSync, readdirSync, readlinkSync, type Stats } from "node:fs";
import { lgetxattr } from "../sys/fs.ts";
import { join } from "../path.ts";
import { OPAQUE_MARKER, OPAQUE_XATTR, WHITEOUT_PREFIX } from "./whiteout.ts";
import type { TarWriteHeader, TarWriter } from "./tar-writer.ts";

export interface ArchiveCount {
  entries: number;
  /** Device nodes and sockets, which no image carries. */
  skipped: number;
}

/** The merged view of `dirs` (top layer first), as overlayfs would show it. */
export function archiveMerged(tar: TarWriter, dirs: string[]): ArchiveCount {
  const out = new EntryWriter(tar);
  const walk = (rel: string, sources: string[]): void => {
    // Per name: the topmost entry, and the directories below it that merge into it.
    const merged = new Map<string, { path: string; st: Stats; below: string[]; opaque: boolean } | null>();
    for (const source of sources) {
      for (const name of readdirSync(source)) {
        const path = join(source, name);
        const above = merged.get(name);
        if (above === null) continue; // whited out above
        const st = lstatSync(path);
        if (above) {
          if (above.st.isDirectory() && !above.opaque && st.isDirectory()) above.below.push(path);
          continue;
        }
        if (isWhiteout(st)) merged.set(name, null);
        else merged.set(name, { path, st, below: [], opaque: st.isDirectory() && isOpaque(path) });
      }
    }
    for (const name of [...merged.keys()].sort()) {
      const entry = merged.get(name);
      if (!entry) continue;
      const relPath = rel ? `${rel}/${name}` : name;
      out.entry(relPath, entry.path, entry.st);
      // An opaque directory hides what is below it; a non-directory above hid everything.
      if (entry.st.isDirectory()) walk(relPath, [entry.path, ...entry.below]);
    }
  };
  walk("", dirs);
  return out.count;
}

/** A container's own layer (its overlayfs upper dir) as an image layer. */
export function archiveLayer(tar: TarWriter, dir: string): ArchiveCount {
  const out = new EntryWriter(tar);
  const walk = (rel: string, source: string): void => {
    for (const name of readdirSync(source).sort()) {
      const path = join(source, name);
      const st = lstatSync(path);
      const relPath = rel ? `${rel}/${name}` : name;
      if (isWhiteout(st)) {
        out.marker(rel ? `${rel}/${WHITEOUT_PREFIX}${name}` : `${WHITEOUT_PREFIX}${name}`, st);
        continue;
      }
      out.entry(relPath, path, st);
      if (!st.isDirectory()) continue;
      if (isOpaque(path)) out.marker(`${relPath}/${OPAQUE_MARKER}`, st);
      walk(relPath, path);
    }
  };
  walk("", dir);
  return out.count;
}

class EntryWriter {
  readonly count: ArchiveCount = { entries: 0, skipped: 0 };
  // The first path of each multiply-linked file, so its other names become hardlinks.
  private readonly links = new Map<string, string>();

  constructor(private readonly tar: TarWriter) {}

  entry(path: string, source: string, st: Stats): void {
    const base: Omit<TarWriteHeader, "type"> = { path, mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, mtime: Math.floor(st.mtimeMs / 1000) };
    this.count.entries++;
    if (st.isDirectory()) return this.tar.add({ ...base, type: "dir" });
    if (st.isSymbolicLink()) return this.tar.add({ ...base, type: "symlink", linkname: readlinkSync(source) });
    if (st.isFIFO()) return this.tar.add({ ...base, type: "fifo" });
    if (!st.isFile()) {
      this.count.entries--;
      this.count.skipped++;
      return;
    }
    if (st.nlink > 1) {
      const key = `${st.dev}:${st.ino}`;
      const first = this.links.get(key);
      if (first !== undefined) return this.tar.add({ ...base, type: "hardlink", linkname: first });
      this.links.set(key, path);
    }
    this.tar.add({ ...base, type: "file", size: st.size }, { file: source });
  }

  /** An empty regular file that means something to image tools (.wh.NAME, .wh..wh..opq). */
  marker(path: string, st: Stats): void {
    this.count.entries++;
    this.tar.add({ path, type: "file", mode: 0o644, uid: 0, gid: 0, mtime: Math.floor(st.mtimeMs / 1000), size: 0 });
  }
}

function isWhiteout(st: Stats): boolean {
  return st.isCharacterDevice() && st.rdev === 0;
}

function isOpaque(dir: string): boolean {
  return lgetxattr(dir, OPAQUE_XATTR) === "y";
}

// A commit's tree (or a directory of it) written out as `git checkout` writes it: files 0644 or
// 0755, links as links, directories 0755, all of one owner; a submodule is an empty directory (box
// does not fetch submodules). The tree comes from a server and is hostile until written: an entry
// named "", ".", "..", ".git" or with a "/" is refused as git refuses it, every entry is made
// under a descriptor of the directory box made for it (never through a path or a link), and the
// writing is bounded (a tree that names one subtree many times cannot fill the disk).
import { close, fchmod, fchown, isErrno, lchownAt, mkdirAt, openAt, symlinkAt, unlinkAt, write } from "../sys/fs.ts";
import { O_CREAT, O_DIRECTORY, O_EXCL, O_NOFOLLOW, O_RDONLY, O_WRONLY } from "../sys/constants.ts";
import { Errno } from "../sys/errors.ts";
import type { GitObject } from "./pack.ts";

const MAX_DEPTH = 256;
const LINK_MAX = 4095;
/** What an entry costs of the budget besides its bytes (its inode). */
const ENTRY_COST = 512;

function need(objects: Map<string, GitObject>, oid: string, type: GitObject["type"]): Buffer {
  const o = objects.get(oid);
  if (!o) throw new Error(`the server's pack lacks the ${type} ${oid}`);
  if (o.type !== type) throw new Error(`${oid} is a ${o.type}, not a ${type}`);
  return o.data;
}

/** The commit an object names (a tag peeled down to it). */
export function peelToCommit(objects: Map<string, GitObject>, oid: string): string {
  for (let n = 0; n < 16; n++) {
    const o = objects.get(oid);
    if (!o) throw new Error(`the server's pack lacks ${oid}`);
    if (o.type === "commit") return oid;
    if (o.type !== "tag") throw new Error(`${oid} is a ${o.type}, not a commit`);
    oid = /^object ([0-9a-f]{40})$/m.exec(o.data.toString("latin1"))?.[1] ?? "";
  }
  throw new Error("tags nested too deep");
}

/** The tree of `commit`, or of its directory `subdir`. */
export function treeOf(objects: Map<string, GitObject>, commit: string, subdir: string): string {
  const named = /^tree ([0-9a-f]{40})$/m.exec(need(objects, commit, "commit").toString("latin1"))?.[1];
  if (!named) throw new Error(`the commit ${commit} names no tree`);
  let tree: string = named;
  for (const part of subdir.split("/").filter(Boolean)) {
    const entry: Entry | undefined = entries(need(objects, tree, "tree")).find((e) => e.name === part);
    if (!entry || entry.mode !== 0o40000) throw new Error(`the repository has no directory ${subdir}`);
    tree = entry.oid;
  }
  return tree;
}

interface Entry {
  mode: number;
  name: string;
  oid: string;
}

function entries(data: Buffer): Entry[] {
  const out: Entry[] = [];
  let pos = 0;
  while (pos < data.length) {
    const space = data.indexOf(0x20, pos);
    const nul = data.indexOf(0, space + 1);
    if (space < 0 || nul < 0 || nul + 21 > data.length) throw new Error("a tree of the repository is malformed");
    const name = data.toString("utf8", space + 1, nul);
    if (!name || name === "." || name === ".." || name.includes("/") || name.toLowerCase() === ".git") throw new Error(`the repository's tree has an entry named ${JSON.stringify(name)}, which git refuses`);
    out.push({ mode: parseInt(data.toString("latin1", pos, space), 8), name, oid: data.toString("hex", nul + 1, nul + 21) });
    pos = nul + 21;
  }
  return out;
}

/** The tree written into the directory `dir` (entries there already are replaced); at most `budget` bytes. */
export function writeTree(objects: Map<string, GitObject>, tree: string, dir: number, owner: [number, number], budget: number): void {
  let left = budget;
  const spend = (n: number) => {
    left -= n + ENTRY_COST;
    if (left < 0) throw new Error(`the checkout is larger than the store can take (${budget} bytes)`);
  };
  const replace = (at: number, name: string) => {
    try {
      unlinkAt(at, name);
    } catch (e) {
      if (!isErrno(e, Errno.ENOENT)) throw e;
    }
  };
  const walk = (tree: string, at: number, depth: number) => {
    if (depth > MAX_DEPTH) throw new Error(`the repository is deeper than ${MAX_DEPTH} directories`);
    for (const e of entries(need(objects, tree, "tree"))) {
      const kind = e.mode >> 12;
      if (kind === 0o4 || kind === 0o16) {
        // A directory; a submodule (0160000) is left empty, as a checkout without --recurse-submodules leaves it.
        spend(0);
        try {
          mkdirAt(at, e.name, 0o755);
        } catch (err) {
          if (!isErrno(err, Errno.EEXIST)) throw err;
        }
        const sub = openAt(at, e.name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
        try {
          fchown(sub, ...owner);
          fchmod(sub, 0o755);
          if (kind === 0o4) walk(e.oid, sub, depth + 1);
        } finally {
          close(sub);
        }
      } else if (kind === 0o12) {
        const target = need(objects, e.oid, "blob");
        if (target.length === 0 || target.length > LINK_MAX || target.includes(0)) throw new Error(`the repository's link ${e.name} has an unusable target`);
        spend(target.length);
        replace(at, e.name);
        symlinkAt(target.toString(), at, e.name);
        lchownAt(at, e.name, ...owner);
      } else if (kind === 0o10) {
        const data = need(objects, e.oid, "blob");
        spend(data.length);
        replace(at, e.name);
        const fd = openAt(at, e.name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600);
        try {
          write(fd, data, e.name);
          fchown(fd, ...owner);
          fchmod(fd, e.mode & 0o100 ? 0o755 : 0o644);
        } finally {
          close(fd);
        }
      } else throw new Error(`the repository's entry ${e.name} has an unknown mode ${e.mode.toString(8)}`);
    }
  };
  walk(tree, dir, 0);
}

// COPY and ADD: files of the build context (less .dockerignore), of an earlier stage or an image
// (--from), or a heredoc, written into a layer of their own at the destination (relative to
// WORKDIR), with Docker's rules: a directory's contents are copied, several sources need a
// destination directory ending in /, owners are 0:0 unless --chown, --chmod sets every mode.
// ADD also unpacks a local tar archive. The step's cache key holds every source's content.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join, dirname, basename } from "../path.ts";
import { close, fchmod, fchown, fstat, holdLock, mkdirAt, mkdirs, open, openAt, readAll, readFile, readdir, readlinkAt, removeTree, write, writeFileAtomic, type FileStat } from "../sys/fs.ts";
import { O_CREAT, O_DIRECTORY, O_EXCL, O_NOFOLLOW, O_PATH, O_RDONLY, O_WRONLY } from "../sys/constants.ts";
import { copyEntry, type CopyRules } from "../sys/copy-tree.ts";
import { randomHex } from "../random.ts";
import { isRootless } from "../sys/process.ts";
import { layerFromDir } from "../image/commit.ts";
import { extractInto, isTarArchive } from "./archive.ts";
import { resolveUser } from "../container/user.ts";
import { jsonArgs, type Instruction } from "./dockerfile.ts";
import { expandWords, type Lookup } from "./expand.ts";
import { BuildError } from "./errors.ts";
import { LayerView, mergedChild, mergedNames } from "./layer-view.ts";
import { globPaths, hasWildcards, IgnoreRules } from "./context.ts";
import { unpackLimit } from "../image/layers.ts";
import { connect, fetchPack, parseGitSource, resolveRef, shownRemote, type GitSource } from "../git/remote.ts";
import { readPack } from "../git/pack.ts";
import { peelToCommit, treeOf, writeTree } from "../git/checkout.ts";
import { layerDirs, type BuildOptions, type BuildState, type Layer } from "./builder.ts";

export interface CopyPlan {
  key: string;
  make(log: (line: string) => void): Promise<{ layer: Layer; createdBy: string }>;
  /** Whether the step is made or the cache answered: what the plan downloaded goes. */
  cleanup(): void;
}

/** One source, where it is read from. */
type Source =
  | { kind: "context"; rel: string; st: FileStat }
  | { kind: "stage"; path: string; st: FileStat; copies: string[] }
  | { kind: "heredoc"; name: string; body: string }
  /** ADD of a URL: downloaded into the store first (its content is in the step's key). */
  | { kind: "url"; name: string; path: string }
  /** ADD of a git repository: the object its ref names (in the step's key), fetched when the step is made. */
  | { kind: "git"; remote: string; shown: string; oid: string; subdir: string };

const PASSWD_LIMIT = 4 << 20;

export async function copyStep(o: BuildOptions, state: BuildState, i: Instruction, vars: Lookup, escape: string, from?: BuildState): Promise<CopyPlan> {
  const allowed = ["from", "chown", "chmod", "link", "exclude", "parents", ...(i.keyword === "ADD" ? ["checksum", "keep-git-dir"] : [])];
  for (const flag of i.flags.keys()) {
    if (!allowed.includes(flag)) throw new BuildError(`dockerfile line ${i.line}: ${i.keyword} --${flag} is not supported by box build yet`);
  }
  const downloads: string[] = [];
  const cleanup = () => downloads.forEach((d) => removeTree(d));
  try {
    return await plan(o, state, i, vars, escape, from, downloads, cleanup);
  } catch (e) {
    cleanup();
    throw e;
  }
}

async function plan(o: BuildOptions, state: BuildState, i: Instruction, vars: Lookup, escape: string, from: BuildState | undefined, downloads: string[], cleanup: () => void): Promise<CopyPlan> {
  const words = i.args.startsWith("[") ? jsonArgs(i) : expandWords(i.args, vars, escape);
  if (words.length < 2) throw new BuildError(`dockerfile line ${i.line}: ${i.keyword} requires at least two arguments, but got ${words.length}`);
  const destWord = words.at(-1)!;
  const workdir = state.config.WorkingDir || "/";
  const dest = destWord.startsWith("/") ? destWord : join(workdir, destWord);
  const destIsDir = destWord.endsWith("/") || destWord === "." || destWord.endsWith("/.");
  const view = from ? new LayerView(layerDirs(o.store.root, from)) : undefined;
  const parents = i.flags.has("parents") && i.flags.get("parents")!.at(-1) !== "false";
  const excluded = (i.flags.get("exclude") ?? []).map((p) => expandWords(p, vars, escape)[0] ?? p);
  // --exclude: patterns as .dockerignore's, over the paths below each source (BuildKit's).
  const exclude = excluded.length ? new IgnoreRules(excluded.join("\n")) : undefined;
  const sources: Source[] = [];
  for (const word of words.slice(0, -1)) {
    const git = i.keyword === "ADD" ? parseGitSource(word) : undefined;
    if (git) sources.push(await gitSource(git, i));
    else if (/^https?:\/\//.test(word) && i.keyword === "ADD") sources.push(await download(o, word, i, downloads));
    else sources.push(...sourcesOf(word));
  }
  function sourcesOf(word: string): Source[] {
    const heredoc = /^<<-?["']?([A-Za-z_][A-Za-z0-9_]*)["']?$/.exec(word);
    if (heredoc) {
      const h = i.heredocs.find((d) => d.name === heredoc[1]);
      if (!h) throw new BuildError(`dockerfile line ${i.line}: heredoc ${heredoc[1]} has no body`);
      return [{ kind: "heredoc", name: h.name, body: h.body }];
    }
    if (/^(https?|git|ssh):\/\//.test(word) || word.startsWith("git@")) throw new BuildError(`dockerfile line ${i.line}: COPY takes no URL or git repository (ADD does): ${shownRemote(word)}`);
    if (view) {
      // Wildcards match inside the stage, as they do in the context.
      const paths = hasWildcards(word) ? globPaths(word.split("/").filter((c) => c && c !== "."), (dir) => {
        const d = view.lookup(`/${dir}`);
        return d?.st.isDirectory() ? mergedNames(d.copies) : [];
      }).map((p) => `/${p}`) : [word.startsWith("/") ? word : `/${word}`];
      if (!paths.length) throw new BuildError(`dockerfile line ${i.line}: failed to compute cache key: no source files were specified for "${word}"`);
      return paths.map((path) => {
        const found = view.lookup(path, false);
        if (!found) throw new BuildError(`dockerfile line ${i.line}: failed to compute cache key: "${word}": not found`);
        return { kind: "stage", path: found.path, st: found.st, copies: found.copies };
      });
    }
    return o.context.sources(word).filter((rel) => !exclude?.excluded(basename(rel))).map((rel) => ({ kind: "context", rel, st: o.context.stat(rel)! }));
  }
  if ((sources.length > 1 || parents) && !destIsDir) throw new BuildError(`dockerfile line ${i.line}: When using ${i.keyword} with more than one source file, the destination must be a directory and end with a /`);
  const chown = i.flags.get("chown")?.at(-1);
  const chmod = i.flags.get("chmod")?.at(-1);
  if (chmod !== undefined && !/^[0-7]{3,4}$/.test(chmod)) throw new BuildError(`dockerfile line ${i.line}: invalid --chmod=${chmod}: an octal mode (0755)`);
  const checksum = i.flags.get("checksum")?.at(-1);
  const digest = contentDigest(o, sources, i.keyword === "ADD", exclude);
  const key = JSON.stringify({ dest, destIsDir, chown, chmod, digest, from: from?.key, parents, excluded, ...(sources.some((s) => s.kind === "git") ? { checksum } : {}) });
  return {
    key,
    cleanup,
    async make() {
      const owner = storedOwner(chown === undefined ? [0, 0] : ownerOf(chown, new LayerView(layerDirs(o.store.root, state)), i), i);
      const temp = join(o.store.root, "tmp", `build-${randomHex(8)}`);
      mkdirs(join(temp, "upper"), 0o755);
      const lock = holdLock(temp);
      try {
        const upper = join(temp, "upper");
        const below = new LayerView(layerDirs(o.store.root, state));
        const destExistsAsDir = below.lookup(dest)?.st.isDirectory() ?? false;
        // Where the writes go: through the links the stage has on the way (a merged /usr's
        // /bin -> usr/bin stays a link, and /bin/x lands in /usr/bin).
        const into = resolvedIn(below, dest);
        const rules: CopyRules = { modeMask: 0o7777, owner: () => owner, skipped: () => {} };
        for (const s of sources) {
          if (s.kind === "git") {
            const dir = makeParents(upper, into, below, owner);
            try {
              await checkoutInto(o, s, checksum, dir, owner, i);
            } finally {
              close(dir);
            }
            if (chmod !== undefined) chmodTree(upper, into, parseInt(chmod, 8), true);
            continue;
          }
          // ADD of a local tar archive (plain, gzip or zstd): its entries into the destination.
          if (i.keyword === "ADD" && s.kind === "context" && s.st.isFile()) {
            // Read through a descriptor opened inside the context: a link on the way leads nowhere else.
            const fd = o.context.openIn(s.rel, O_RDONLY | O_NOFOLLOW);
            try {
              if (await isTarArchive(`/proc/self/fd/${fd}`)) {
                close(makeParents(upper, into, below));
                await extractInto(`/proc/self/fd/${fd}`, join(upper, into), o.store.root);
                continue;
              }
            } finally {
              close(fd);
            }
          }
          const name = s.kind === "heredoc" || s.kind === "url" ? s.name : s.kind === "context" ? basename(s.rel || "/") : basename(s.path);
          const isDir = (s.kind === "context" || s.kind === "stage") && s.st.isDirectory();
          // A directory's contents go into the destination; a file into it when it is (or ends like)
          // one; with --parents, each keeps its path below the context.
          const lexical = parents && s.kind === "context" ? join(into, s.rel) : isDir || !(destIsDir || destExistsAsDir) ? into : join(into, name);
          const parent = resolvedIn(below, isDir ? lexical : dirname(lexical));
          const target = isDir ? parent : join(parent, basename(lexical));
          const dir = makeParents(upper, parent, below, isDir ? owner : undefined);
          try {
            if (s.kind === "heredoc") writeFileAtomic(join(upper, target), s.body, chmod ? parseInt(chmod, 8) : 0o644);
            // Docker: a downloaded file is 0600.
            else if (s.kind === "url") writeFileAtomic(join(upper, target), readFileSync(s.path), chmod ? parseInt(chmod, 8) : 0o600);
            else if (s.kind === "context") copyContext(o, s.rel, isDir, dir, basename(target), { ...rules, exclude });
            else copyStage(s, isDir, dir, basename(target), rules);
          } finally {
            close(dir);
          }
          if (s.kind === "heredoc" || s.kind === "url") fchownPath(join(upper, target), owner);
          if (chmod !== undefined) chmodTree(upper, target, parseInt(chmod, 8), isDir);
        }
        const layer = await layerFromDir(o.store.root, upper);
        const only = sources.length === 1 ? sources[0]! : undefined;
        const kind = only && (only.kind === "url" || ((only.kind === "context" || only.kind === "stage") && !only.st.isDirectory())) ? "file" : sources.length > 1 ? "multi" : "dir";
        return { layer: { diffId: layer.diffId, blob: layer.blob, size: layer.size }, createdBy: `/bin/sh -c #(nop) ${i.keyword} ${kind}:${digest} in ${dest} ` };
      } finally {
        removeTree(temp);
        close(lock);
      }
    },
  };
}

/**
 * The owner as the store keeps it: rootless, every file of a layer is its user's (what the
 * container sees as root's, as `box import` and pull keep them); another owner needs root.
 */
function storedOwner(owner: [number, number], i: Instruction): [number, number] {
  if (!isRootless()) return owner;
  if (owner[0] !== 0 || owner[1] !== 0) throw new BuildError(`dockerfile line ${i.line}: rootless: --chown to another user than root needs root (a rootless box keeps every file as its user's)`);
  return [process.geteuid!(), process.getegid!()];
}

/** --chown USER[:GROUP]: numbers as they are, names from the stage's /etc/passwd and /etc/group. */
function ownerOf(chown: string, view: LayerView, i: Instruction): [number, number] {
  const read = (path: string) => {
    const found = view.lookup(path);
    if (!found || !found.st.isFile() || found.st.size > PASSWD_LIMIT) return "";
    return readFile(found.copies[0]!);
  };
  const [user, group] = chown.split(":");
  try {
    const resolved = resolveUser(user!, read);
    const gid = group === undefined ? resolved.gid : /^\d+$/.test(group) ? Number(group) : resolveUser(`${user}:${group}`, read).gid;
    return [resolved.uid, gid];
  } catch (e) {
    throw new BuildError(`dockerfile line ${i.line}: --chown=${chown}: ${(e as Error).message}`);
  }
}

/** `path` with the links on it that the stage has resolved (inside the stage): its longest existing directory, then the rest. */
function resolvedIn(view: LayerView, path: string): string {
  const parts = path.split("/").filter(Boolean);
  for (let n = parts.length; n > 0; n--) {
    const found = view.lookup(`/${parts.slice(0, n).join("/")}`);
    if (found?.st.isDirectory()) return join(found.path, ...parts.slice(n));
  }
  return `/${parts.join("/")}`;
}

/**
 * The directories down to `path` in the new layer, each as the stage already has it (mode and
 * owner) or new (0755 root's; `owner` for the last one, a copied directory's own); the last one
 * opened.
 */
function makeParents(upper: string, path: string, below: LayerView, owner?: [number, number]): number {
  let fd = open(upper, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
  const parts = path.split("/").filter(Boolean);
  let sofar = "";
  for (const [n, part] of parts.entries()) {
    sofar += `/${part}`;
    const existing = below.lookup(sofar);
    let made = false;
    try {
      mkdirAt(fd, part, 0o755);
      made = true;
    } catch {}
    const next = openAt(fd, part, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
    close(fd);
    fd = next;
    if (!made) continue;
    if (existing?.st.isDirectory()) {
      fchown(fd, existing.st.uid, existing.st.gid);
      fchmod(fd, existing.st.mode & 0o7777);
    } else if (n === parts.length - 1 && owner) fchown(fd, ...owner);
  }
  return fd;
}

/** A source of the context: a file or link as itself, a directory's entries (not .dockerignore's) into `dir`. */
function copyContext(o: BuildOptions, rel: string, isDir: boolean, dir: number, name: string, rules: CopyRules & { exclude?: IgnoreRules }): void {
  if (!isDir) {
    const parent = o.context.openIn(dirname(rel) === "." ? "" : dirname(rel), O_RDONLY | O_DIRECTORY);
    try {
      copyEntry(parent, basename(rel), dir, name, rules, rel);
    } finally {
      close(parent);
    }
    return;
  }
  const walk = (from: string, to: number) => {
    const src = o.context.openIn(from, O_RDONLY | O_DIRECTORY);
    try {
      for (const child of o.context.list(from)) {
        const childRel = from ? `${from}/${child}` : child;
        if (rules.exclude?.excluded(rel ? childRel.slice(rel.length + 1) : childRel)) continue;
        const st = o.context.stat(childRel);
        if (!st) continue;
        if (!st.isDirectory()) {
          copyEntry(src, child, to, child, rules, childRel);
          continue;
        }
        try {
          mkdirAt(to, child, st.mode & 0o7777);
        } catch {}
        const sub = openAt(to, child, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
        try {
          fchown(sub, ...rules.owner!(st));
          fchmod(sub, st.mode & 0o7777);
          walk(childRel, sub);
        } finally {
          close(sub);
        }
      }
    } finally {
      close(src);
    }
  };
  walk(rel, dir);
}

/**
 * The path `path` of stacked layers (top first) copied into `dir`/files, owners and modes kept,
 * links as links: a RUN --mount=type=bind,from= source, bound read-only for the step. Returns the
 * lock held on `dir` while it is in use (a prune leaves it alone).
 */
export function copyFromLayers(layers: string[], path: string, dir: string, i: Instruction): number {
  const found = new LayerView(layers).lookup(path);
  if (!found) throw new BuildError(`dockerfile line ${i.line}: RUN --mount from: "${path}": not found`);
  return copyForMount(dir, found.st.isDirectory(), (to, isDir, rules) => copyStage({ kind: "stage", ...found }, isDir, to, "files", rules));
}

/** The context's `rel` (.dockerignore applied) copied into `dir`/files the same way: a RUN --mount=type=bind source. */
export function copyFromContext(o: BuildOptions, rel: string, dir: string): number {
  return copyForMount(dir, o.context.stat(rel)?.isDirectory() ?? false, (to, isDir, rules) => copyContext(o, rel, isDir, to, "files", rules));
}

/** `dir`, locked, with what `copy` writes as `files` in it (a directory, or a file); the lock. */
function copyForMount(dir: string, isDir: boolean, copy: (to: number, isDir: boolean, rules: CopyRules) => void): number {
  mkdirs(dir, 0o700);
  const lock = holdLock(dir);
  try {
    const rules: CopyRules = { modeMask: 0o7777, owner: (st) => [st.uid, st.gid], skipped: () => {} };
    if (isDir) mkdirs(join(dir, "files"), 0o755);
    const fd = open(isDir ? join(dir, "files") : dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
    try {
      copy(fd, isDir, rules);
    } finally {
      close(fd);
    }
    return lock;
  } catch (e) {
    close(lock);
    throw e;
  }
}

/** A source of another stage or image: its merged view (links as links) into `dir`. */
function copyStage(s: Extract<Source, { kind: "stage" }>, isDir: boolean, dir: number, name: string, rules: CopyRules): void {
  const copyOne = (copy: string, to: number, as: string) => {
    const parent = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
    try {
      copyEntry(parent, basename(copy), to, as, rules, copy);
    } finally {
      close(parent);
    }
  };
  if (!isDir) return copyOne(s.copies[0]!, dir, name);
  const walk = (copies: string[], to: number) => {
    for (const n of mergedNames(copies)) {
      const child = mergedChild(copies, n);
      if (!child) continue;
      if (!child.st.isDirectory()) {
        copyOne(child.copies[0]!, to, n);
        continue;
      }
      try {
        mkdirAt(to, n, child.st.mode & 0o7777);
      } catch {}
      const sub = openAt(to, n, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
      try {
        fchown(sub, ...rules.owner!(child.st));
        fchmod(sub, child.st.mode & 0o7777);
        walk(child.copies, sub);
      } finally {
        close(sub);
      }
    }
  };
  walk(s.copies, dir);
}

function fchownPath(path: string, owner: [number, number]): void {
  const fd = open(path, O_RDONLY | O_NOFOLLOW);
  try {
    fchown(fd, ...owner);
  } finally {
    close(fd);
  }
}

/** --chmod: the mode of what was copied (a directory's whole tree). */
function chmodTree(upper: string, target: string, mode: number, isDir: boolean): void {
  const walk = (path: string) => {
    const fd = open(path, O_PATH | O_NOFOLLOW);
    let st: FileStat;
    try {
      st = fstat(fd);
    } finally {
      close(fd);
    }
    if (st.isSymbolicLink()) return;
    const rw = open(path, O_RDONLY | O_NOFOLLOW);
    try {
      fchmod(rw, mode);
    } finally {
      close(rw);
    }
    if (st.isDirectory()) for (const n of readdir(path)) walk(join(path, n));
  };
  if (isDir) for (const n of readdir(join(upper, target))) walk(join(upper, target, n));
  else walk(join(upper, target));
}

/** A path of the context by content (a RUN --mount=type=bind's source, for the step's key). */
export function contextDigest(o: BuildOptions, rel: string): string {
  return contentDigest(o, [{ kind: "context", rel, st: o.context.stat(rel)! }], false);
}

/** What the step reads, by content: a change to any source's bytes, mode or name is a new key. */
function contentDigest(o: BuildOptions, sources: Source[], add: boolean, exclude?: IgnoreRules): string {
  const h = createHash("sha256").update(add ? "ADD" : "COPY");
  // Read through descriptors opened inside the context: a link on the way leads nowhere else.
  const entry = (rel: string, st: FileStat) => {
    h.update(`\0${rel}\0${st.mode.toString(8)}\0`);
    if (!st.isFile() && !st.isSymbolicLink()) return;
    const fd = o.context.openIn(rel, (st.isFile() ? O_RDONLY : O_PATH) | O_NOFOLLOW);
    try {
      h.update(st.isFile() ? readAll(fd, rel) : readlinkAt(fd, ""));
    } finally {
      close(fd);
    }
  };
  for (const s of sources) {
    if (s.kind === "heredoc") h.update(`\0heredoc ${s.name}\0${s.body}`);
    else if (s.kind === "url") h.update(`\0url ${s.name}\0`).update(readFileSync(s.path));
    else if (s.kind === "git") h.update(`\0git ${s.shown}\0${s.oid}\0${s.subdir}`);
    else if (s.kind === "stage") h.update(`\0stage ${s.path}\0${s.copies.join("\0")}`);
    else {
      // What the copy takes: .dockerignore's and --exclude's paths are no part of it.
      const walk = (rel: string) => {
        const st = o.context.stat(rel)!;
        entry(rel, st);
        if (!st.isDirectory()) return;
        for (const n of o.context.list(rel)) {
          const child = rel ? `${rel}/${n}` : n;
          if (!exclude?.excluded(s.rel ? child.slice(s.rel.length + 1) : child)) walk(child);
        }
      };
      walk(s.rel);
    }
  }
  return h.digest("hex");
}

/**
 * ADD of a URL: the file downloaded into the store (bounded as an unpacked layer), its sha256
 * checked against --checksum; named by the URL's last path component, as Docker's.
 */
async function download(o: BuildOptions, url: string, i: Instruction, downloads: string[]): Promise<Source> {
  const name = decodeURIComponent(new URL(url).pathname.split("/").at(-1) ?? "");
  if (name.includes("/") || name === "." || name === "..") throw new BuildError(`dockerfile line ${i.line}: the URL ${url} names no usable file: name the destination file`);
  if (!name) throw new BuildError(`dockerfile line ${i.line}: cannot determine a file name from the URL ${url}: name the destination file`);
  const dir = join(o.store.root, "tmp", `download-${randomHex(8)}`);
  mkdirs(dir, 0o700);
  downloads.push(dir);
  const path = join(dir, "file");
  let response: Response;
  try {
    response = await fetch(url, { redirect: "follow" });
  } catch (e) {
    throw new BuildError(`dockerfile line ${i.line}: failed to load ${url}: ${(e as Error).message}`);
  }
  if (!response.ok) throw new BuildError(`dockerfile line ${i.line}: failed to load ${url}: ${response.status} ${response.statusText}`);
  // Written as it comes, bounded as an unpacked layer: a server cannot fill the store's disk.
  const limit = unpackLimit(o.store.root);
  const hash = createHash("sha256");
  const fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0o600);
  try {
    let total = 0;
    for await (const chunk of response.body ?? []) {
      total += chunk.length;
      if (total > limit) throw new BuildError(`dockerfile line ${i.line}: ${url} is larger than the store can take (${limit} bytes)`);
      hash.update(chunk);
      write(fd, chunk);
    }
  } finally {
    close(fd);
  }
  const checksum = i.flags.get("checksum")?.at(-1);
  if (checksum !== undefined) {
    const got = `sha256:${hash.digest("hex")}`;
    if (got !== checksum) throw new BuildError(`dockerfile line ${i.line}: digest mismatch for ${url}: ${got}, expected ${checksum}`);
  }
  return { kind: "url", name, path };
}

/** ADD of a git repository: the object its ref names now (one ls-refs; no round trip for a commit id). */
async function gitSource(git: GitSource, i: Instruction): Promise<Source> {
  const shown = shownRemote(git.remote);
  const keep = i.flags.get("keep-git-dir")?.at(-1);
  if (keep !== undefined && keep !== "false") throw new BuildError(`dockerfile line ${i.line}: ADD --keep-git-dir is not supported by box build yet (the checkout comes without its .git)`);
  try {
    if (/^[0-9a-f]{40}$/.test(git.ref)) return { kind: "git", remote: git.remote, shown, oid: git.ref, subdir: git.subdir };
    const c = await connect(git.remote);
    try {
      return { kind: "git", remote: git.remote, shown, oid: await resolveRef(c, git.ref, shown), subdir: git.subdir };
    } finally {
      c.close();
    }
  } catch (e) {
    throw new BuildError(`dockerfile line ${i.line}: ADD ${shown}: ${(e as Error).message}`);
  }
}

/**
 * The repository's tree at the source's commit (or its directory) into `dir`: one shallow fetch,
 * every object checked by its id; --checksum, when given, is the commit's id (or the tag's).
 */
async function checkoutInto(o: BuildOptions, s: Extract<Source, { kind: "git" }>, checksum: string | undefined, dir: number, owner: [number, number], i: Instruction): Promise<void> {
  const limit = unpackLimit(o.store.root);
  try {
    const c = await connect(s.remote);
    let pack: Buffer;
    try {
      pack = await fetchPack(c, s.oid, limit, s.shown);
    } finally {
      c.close();
    }
    const objects = readPack(pack, limit);
    const commit = peelToCommit(objects, s.oid);
    if (checksum !== undefined && checksum !== commit && checksum !== s.oid) throw new Error(`the commit is ${commit}, not the --checksum ${checksum}`);
    writeTree(objects, treeOf(objects, commit, s.subdir), dir, owner, limit);
  } catch (e) {
    throw new BuildError(`dockerfile line ${i.line}: ADD ${s.shown}: ${(e as Error).message}`);
  }
}

// RUN --mount, as BuildKit's: what the command sees while it runs and that is no part of the
// layer. Each becomes a `box run` mount of the step's container: a cache directory kept in the
// store between builds (type=cache), a tmpfs (type=tmpfs), a copy of the context's or a stage's
// path (type=bind: read-only, or with rw writable and thrown away with the copy), a secret file of
// --secret (type=secret, or env=NAME: the secret in the command's environment). The mount points
// box makes for them in the container's layer are taken out of it after, unless the stage had them.
import { createHash } from "node:crypto";
import { chmod, isErrno, lchownAt, mkdirs, readFile, rmdir, stat, unlink, lstat } from "../sys/fs.ts";
import { AT_FDCWD } from "../sys/constants.ts";
import { Errno } from "../sys/errors.ts";
import { isRootless } from "../sys/process.ts";
import { join } from "../path.ts";
import { commaFields } from "../cli/labels.ts";
import { randomHex } from "../random.ts";
import type { Instruction } from "./dockerfile.ts";
import { BuildError } from "./errors.ts";
import type { LayerView } from "./layer-view.ts";
import type { BuildOptions } from "./builder.ts";

export interface RunMounts {
  /** `box run` flags: -v and --tmpfs. */
  flags: string[];
  /** Variables for the command (secrets with env=). */
  env: string[];
  /** Mount points inside the container, to take out of its layer after. */
  targets: string[];
  /** What the step's cache key reads of them (a bind's source by content). */
  key: string[];
  /** Cache directories to make first (with their mode and owner) when they are not there. */
  caches: { dir: string; mode: number; uid: number; gid: number }[];
  /**
   * bind: what is bound, copied into `dir` for the step's time: the context's files (.dockerignore
   * applied, links resolved inside it; never a path of the host's), or a path of a stage's layers.
   */
  copies: ({ dir: string; context: string } | { dir: string; layers: string[]; path: string })[];
}

const SECRETS_LIMIT = 500 * 1024;

/** key=value,... of one --mount (a bare key is key=true). */
function fields(text: string, i: Instruction): Map<string, string> {
  const out = new Map<string, string>();
  for (const [key, value] of commaFields(text)) {
    if (key === "" && value === undefined) continue;
    if (!key) throw new BuildError(`dockerfile line ${i.line}: invalid RUN --mount "${text}"`);
    out.set(key.toLowerCase(), value ?? "true");
  }
  return out;
}

const truthy = (v: string | undefined) => v !== undefined && v !== "false" && v !== "0";

/** `stages`: what a bind's from= names (a stage, or an image), by that name: its layers and key. */
export function runMounts(o: BuildOptions, i: Instruction, workdir: string, digest: (rel: string) => string, stages: Map<string, { layers: string[]; key: string }>): RunMounts {
  const out: RunMounts = { flags: [], env: [], targets: [], key: [], caches: [], copies: [] };
  for (const text of i.flags.get("mount") ?? []) {
    const f = fields(text, i);
    const type = f.get("type") ?? "bind";
    const targetWord = f.get("target") ?? f.get("dst") ?? f.get("destination");
    const absolute = (p: string) => (p.startsWith("/") ? p : join(workdir, p));
    const bad = (why: string) => new BuildError(`dockerfile line ${i.line}: RUN --mount=${text}: ${why}`);
    switch (type) {
      case "bind": {
        if (!targetWord) throw bad("a target is needed");
        // rw: the command may write to the copy; its writes go with it (BuildKit's), never to the context.
        const mode = truthy(f.get("rw")) || truthy(f.get("readwrite")) ? "rw" : "ro";
        const source = (f.get("source") ?? f.get("src") ?? ".").split("/").filter((c) => c && c !== ".").join("/");
        const from = f.get("from");
        if (from !== undefined) {
          // Another stage's or an image's files: a copy of that path, made for the step, read-only.
          const stage = stages.get(from);
          if (!stage) throw bad(`stage or image ${from} not found`);
          const dir = join(o.store.root, "tmp", `mount-${randomHex(8)}`);
          out.copies.push({ dir, layers: stage.layers, path: `/${source}` });
          out.flags.push("-v", `${join(dir, "files")}:${absolute(targetWord)}:${mode}`);
          out.targets.push(absolute(targetWord));
          out.key.push(`bind from ${stage.key} ${source} ${absolute(targetWord)}`);
          break;
        }
        o.context.sources(source || ".");
        const dir = join(o.store.root, "tmp", `mount-${randomHex(8)}`);
        out.copies.push({ dir, context: source });
        out.flags.push("-v", `${join(dir, "files")}:${absolute(targetWord)}:${mode}`);
        out.targets.push(absolute(targetWord));
        out.key.push(`bind ${source} ${absolute(targetWord)} ${digest(source)}`);
        break;
      }
      case "cache": {
        if (!targetWord) throw bad("a target is needed");
        const target = absolute(targetWord);
        const id = f.get("id") ?? target;
        const dir = join(o.store.root, "builder", "mounts", createHash("sha256").update(id).digest("hex").slice(0, 32));
        out.caches.push({ dir, mode: f.has("mode") ? parseInt(f.get("mode")!, 8) : 0o755, uid: Number(f.get("uid") ?? 0), gid: Number(f.get("gid") ?? 0) });
        out.flags.push("-v", `${dir}:${target}`);
        out.targets.push(target);
        break;
      }
      case "tmpfs": {
        if (!targetWord) throw bad("a target is needed");
        const size = f.get("size");
        out.flags.push("--tmpfs", `${absolute(targetWord)}${size ? `:size=${size}` : ""}`);
        out.targets.push(absolute(targetWord));
        break;
      }
      case "secret": {
        const id = f.get("id") ?? (targetWord ? targetWord.split("/").at(-1)! : undefined);
        if (!id) throw bad("an id or a target is needed");
        const source = o.secrets.get(id);
        if (!source) {
          if (truthy(f.get("required"))) throw bad(`secret ${id} not found: give it with --secret id=${id},src=PATH`);
          break;
        }
        const env = f.get("env");
        if (env !== undefined) {
          const value = readFile(source);
          if (value.length > SECRETS_LIMIT) throw bad(`secret ${id} is larger than ${SECRETS_LIMIT} bytes`);
          out.env.push(`${env}=${value}`);
          if (!targetWord) break;
        }
        const target = absolute(targetWord ?? `/run/secrets/${id}`);
        out.flags.push("-v", `${source}:${target}:ro`);
        out.targets.push(target);
        break;
      }
      default:
        throw bad(`type=${type} is not supported by box build yet`);
    }
  }
  return out;
}

/** The cache directories of the mounts, made the first time (kept between builds, in the store). */
export function makeCaches(m: RunMounts): void {
  for (const c of m.caches) {
    try {
      stat(c.dir);
      continue;
    } catch (e) {
      if (!isErrno(e, Errno.ENOENT)) throw e;
    }
    mkdirs(c.dir, 0o755);
    chmod(c.dir, c.mode);
    // Rootless, the directory is its user's: the container's root.
    if (!isRootless()) lchownAt(AT_FDCWD, c.dir, c.uid, c.gid);
  }
}

/**
 * The mount points box made in the container's layer (`upper`) for the RUN's mounts: each, and
 * the directories made for it, unless the stage below had it.
 */
export function removeMountPoints(upper: string, targets: string[], below: LayerView): void {
  for (const target of targets) {
    const parts = target.split("/").filter(Boolean);
    for (let n = parts.length; n > 0; n--) {
      const path = `/${parts.slice(0, n).join("/")}`;
      if (below.lookup(path, false)) break;
      const inUpper = join(upper, path);
      let st;
      try {
        st = lstat(inUpper);
      } catch {
        continue;
      }
      try {
        if (st.isDirectory()) rmdir(inUpper);
        else if (st.size === 0) unlink(inUpper);
      } catch (e) {
        // Not empty: the command wrote there (under the mount point, in the layer): kept.
        if (!isErrno(e, Errno.ENOTEMPTY) && !isErrno(e, Errno.EEXIST)) throw e;
        break;
      }
    }
  }
}

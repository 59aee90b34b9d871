// The build context: a directory of the host, less what .dockerignore leaves out, and the
// sources a COPY or ADD names in it (Go's filepath.Match wildcards per path component, as
// Docker's). Paths never leave the context: `..` and links, in any component, are resolved
// inside it (openat2 RESOLVE_IN_ROOT from a descriptor of the context), as Docker resolves them.
import { close, fstat, isErrno, open, openInRoot, readdir, readFile, type FileStat } from "../sys/fs.ts";
import { O_DIRECTORY, O_NOFOLLOW, O_PATH, O_RDONLY } from "../sys/constants.ts";
import { Errno } from "../sys/errors.ts";
import { join } from "../path.ts";
import { BuildError } from "./errors.ts";

interface IgnoreRule {
  pattern: RegExp;
  include: boolean;
  /** The pattern's text: a re-include below an excluded directory keeps that directory walked. */
  text: string;
}

/** A glob component (Go's filepath.Match: * ? [...] and \ escapes) as a regular expression. */
function componentRegex(glob: string): string {
  let out = "";
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === "*") out += "[^/]*";
    else if (c === "?") out += "[^/]";
    else if (c === "[") {
      const end = glob.indexOf("]", i + 1);
      if (end < 0) throw new BuildError(`syntax error in pattern: ${glob}`);
      const body = glob.slice(i + 1, end).replace(/^\^/, "!");
      out += `[${body.startsWith("!") ? `^${body.slice(1)}` : body}]`;
      i = end;
    } else if (c === "\\" && i + 1 < glob.length) out += `\\${glob[++i]}`;
    else out += c.replace(/[.+^${}()|\\]/g, "\\$&");
  }
  return out;
}

/** A .dockerignore pattern: path components, `**` for any number of them. */
function ignoreRegex(pattern: string): RegExp {
  const parts = pattern.split("/").filter(Boolean);
  const body = parts.map((p) => (p === "**" ? "(?:.*)" : componentRegex(p))).join("/").replace(/\/\(\?:\.\*\)/g, "(?:/.*)?").replace(/^\(\?:\.\*\)\//, "(?:.*/)?");
  return new RegExp(`^${body}$`);
}

/** True when a source names files by wildcards (*, ?, [...]). */
export const hasWildcards = (path: string) => /[*?[]/.test(path);

/**
 * The paths (no leading /, sorted) that the components of a wildcard source match, one directory
 * at a time: `names` lists a directory's entries (none when it is not one).
 */
export function globPaths(parts: string[], names: (dir: string) => string[]): string[] {
  let found = [""];
  for (const part of parts) {
    const re = new RegExp(`^${componentRegex(part)}$`);
    found = found.flatMap((dir) => names(dir).filter((n) => re.test(n)).map((n) => (dir ? `${dir}/${n}` : n)));
  }
  return found.sort();
}

/** Docker's cleaning of a pattern: no leading /, no ./, no trailing /. */
function cleanPattern(p: string): string {
  return p.split("/").filter((c) => c && c !== ".").join("/");
}

/** .dockerignore's rules (and COPY --exclude's): the last one that matches a path or a parent decides. */
export class IgnoreRules {
  private readonly rules: IgnoreRule[];

  constructor(text = "") {
    this.rules = text
      .split("\n")
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith("#"))
      .map((l) => (l.startsWith("!") ? { include: true, text: cleanPattern(l.slice(1).trim()) } : { include: false, text: cleanPattern(l) }))
      .filter((r) => r.text)
      .map((r) => ({ include: r.include, text: r.text, pattern: ignoreRegex(r.text) }));
  }

  /** Whether `rel` (no leading /) is left out. */
  excluded(rel: string): boolean {
    let out = false;
    const parts = rel.split("/");
    for (const rule of this.rules) {
      for (let n = 1; n <= parts.length; n++) {
        if (rule.pattern.test(parts.slice(0, n).join("/"))) {
          out = !rule.include;
          break;
        }
      }
    }
    return out;
  }

  /** Whether a rule takes something below the directory `rel` back in (so it is walked all the same). */
  reincludesBelow(rel: string): boolean {
    return this.rules.some((r) => r.include && r.text.startsWith(`${rel}/`));
  }
}

export class BuildContext {
  readonly ignore: IgnoreRules;
  /** The context's directory, where every path is resolved. */
  private readonly root: number;

  /** `ignoreText`: the .dockerignore (or Dockerfile.dockerignore) that applies, if any. */
  constructor(
    readonly dir: string,
    ignoreText?: string,
  ) {
    this.ignore = new IgnoreRules(ignoreText);
    this.root = open(dir, O_PATH | O_DIRECTORY);
  }

  /** Whether `rel` (below the context, no leading /) is left out by .dockerignore. */
  excluded(rel: string): boolean {
    return this.ignore.excluded(rel);
  }

  /** A descriptor of `rel` resolved inside the context (the caller closes it). */
  openIn(rel: string, flags: number): number {
    return openInRoot(this.root, rel || ".", flags);
  }

  /** The paths below the context (no leading /) that a COPY source names, wildcards expanded; refused when none. */
  sources(source: string): string[] {
    const parts = source.split("/").filter((c) => c && c !== ".");
    if (parts.includes("..")) {
      const clean: string[] = [];
      for (const p of parts) p === ".." ? clean.pop() : clean.push(p);
      parts.splice(0, parts.length, ...clean);
    }
    if (!parts.some(hasWildcards)) {
      const rel = parts.join("/");
      if (!this.stat(rel) || (rel && this.excluded(rel))) throw new BuildError(`failed to compute cache key: "/${rel}": not found`);
      return [rel];
    }
    const found = globPaths(parts, (dir) => (this.stat(dir)?.isDirectory() ? this.names(dir) : [])).filter((rel) => !this.excluded(rel));
    if (!found.length) throw new BuildError(`failed to compute cache key: no source files were specified for "${source}"`);
    return found;
  }

  /** The entry at `rel` (not following a last link); undefined when missing. */
  stat(rel: string): FileStat | undefined {
    let fd: number;
    try {
      fd = this.openIn(rel, O_PATH | O_NOFOLLOW);
    } catch (e) {
      if (isErrno(e, Errno.ENOENT) || isErrno(e, Errno.ENOTDIR)) return undefined;
      throw e;
    }
    try {
      return fstat(fd);
    } finally {
      close(fd);
    }
  }

  /** Every name in directory `rel`. */
  private names(rel: string): string[] {
    const fd = this.openIn(rel, O_RDONLY | O_DIRECTORY);
    try {
      return readdir(`/proc/self/fd/${fd}`);
    } finally {
      close(fd);
    }
  }

  /** The names in directory `rel` that .dockerignore keeps (a directory it excludes, but re-includes something below, too). */
  list(rel: string): string[] {
    const fd = this.openIn(rel, O_RDONLY | O_DIRECTORY);
    try {
      return readdir(`/proc/self/fd/${fd}`)
        .filter((n) => {
          const path = rel ? `${rel}/${n}` : n;
          return !this.excluded(path) || this.ignore.reincludesBelow(path);
        })
        .sort();
    } finally {
      close(fd);
    }
  }
}

/** The .dockerignore of a build: the Dockerfile's own (NAME.dockerignore beside it) first, as BuildKit. */
export function ignoreFile(contextDir: string, dockerfilePath?: string): string | undefined {
  for (const path of [...(dockerfilePath ? [`${dockerfilePath}.dockerignore`] : []), join(contextDir, ".dockerignore")]) {
    try {
      return readFile(path);
    } catch {}
  }
  return undefined;
}

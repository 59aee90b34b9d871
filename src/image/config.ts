// The part of an image's configuration box uses to start a container, and the Dockerfile-style
// `--change` instructions (`docker import --change 'CMD ["sh"]'`) that set it.
import { UserError } from "../container/errors.ts";
import { signalNumber } from "../sys/process.ts";
import { goDuration } from "../duration.ts";

export interface ImageConfig {
  Env?: string[];
  Cmd?: string[];
  Entrypoint?: string[];
  WorkingDir?: string;
  User?: string;
  /** The signal `box stop` sends first (Dockerfile STOPSIGNAL). */
  StopSignal?: string;
  /** Dockerfile EXPOSE, in Docker's shape: {"80/tcp": {}}; `box run -P` publishes them. */
  ExposedPorts?: Record<string, Record<string, never>>;
  Labels?: Record<string, string>;
  /** Dockerfile VOLUME, in Docker's shape: {"/data": {}}; each gets an anonymous volume. */
  Volumes?: Record<string, Record<string, never>>;
  /** Whatever else an image's config holds (Volumes, Healthcheck, ...), kept as it came. */
  [other: string]: unknown;
}

const SUPPORTED = ["CMD", "ENTRYPOINT", "ENV", "USER", "WORKDIR", "STOPSIGNAL", "EXPOSE", "LABEL", "VOLUME", "HEALTHCHECK"];

/** `80`, `53/udp` as EXPOSE and --expose take them: "80/tcp", "53/udp"; undefined when malformed. */
export function exposedPort(text: string): string | undefined {
  const m = /^(\d{1,5})(?:\/(tcp|udp))?$/.exec(text);
  return m && Number(m[1]) >= 1 && Number(m[1]) <= 65535 ? `${Number(m[1])}/${m[2] ?? "tcp"}` : undefined;
}

/** Applies `--change` lines in order. The result has a fixed key order, so equal configs
 * serialise (and hash into image ids) identically. */
export function applyChanges(base: ImageConfig, changes: string[]): ImageConfig {
  const config: ImageConfig = { ...base };
  for (const change of changes) {
    const match = /^\s*(\S+)\s*(.*?)\s*$/s.exec(change);
    const instruction = match?.[1]?.toUpperCase() ?? "";
    const args = match?.[2] ?? "";
    const bad = (why: string) => new UserError(`invalid --change ${JSON.stringify(change)}: ${why}`);
    if (!SUPPORTED.includes(instruction)) throw bad(`unsupported instruction (supported: ${SUPPORTED.join(", ")})`);
    if (args === "") throw bad(`${instruction} needs an argument`);
    switch (instruction) {
      case "CMD":
        config.Cmd = commandForm(args, bad);
        break;
      case "ENTRYPOINT":
        config.Entrypoint = commandForm(args, bad);
        break;
      case "ENV":
        config.Env = mergeEnv(config.Env ?? [], envPairs(args, bad));
        break;
      case "USER":
        config.User = args;
        break;
      case "WORKDIR":
        config.WorkingDir = args;
        break;
      case "EXPOSE":
        for (const word of args.split(/\s+/)) {
          const port = exposedPort(word);
          if (port === undefined) throw bad(`invalid port ${JSON.stringify(word)}: PORT or PORT/tcp|udp`);
          config.ExposedPorts = { ...config.ExposedPorts, [port]: {} };
        }
        break;
      case "LABEL":
        for (const pair of envPairs(args, bad)) {
          const eq = pair.indexOf("=");
          config.Labels = { ...config.Labels, [pair.slice(0, eq)]: pair.slice(eq + 1) };
        }
        break;
      case "VOLUME":
        // JSON array or words, as a Dockerfile's.
        for (const path of args.startsWith("[") ? commandForm(args, bad) : args.split(/\s+/)) {
          if (!path.startsWith("/")) throw bad(`VOLUME ${JSON.stringify(path)} is not an absolute path`);
          config.Volumes = { ...config.Volumes, [path]: {} };
        }
        break;
      case "HEALTHCHECK":
        config.Healthcheck = healthcheck(args, bad);
        break;
      case "STOPSIGNAL":
        if (signalNumber(args) === undefined) throw bad(`unknown signal ${JSON.stringify(args)}`);
        config.StopSignal = args;
        break;
    }
  }
  return canonical(config);
}

const HEALTH_OPTIONS: Record<string, string> = { interval: "Interval", timeout: "Timeout", "start-period": "StartPeriod", "start-interval": "StartInterval", retries: "Retries" };

/** `HEALTHCHECK [--interval=30s ...] CMD command` or `HEALTHCHECK NONE`, as a Dockerfile's; durations in ns. */
function healthcheck(args: string, bad: (why: string) => UserError): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  let rest = args;
  for (let m = /^--([a-z-]+)=(\S+)\s+/.exec(rest); m; m = /^--([a-z-]+)=(\S+)\s+/.exec(rest)) {
    const key = HEALTH_OPTIONS[m[1]!];
    if (!key) throw bad(`unknown HEALTHCHECK option --${m[1]}`);
    const value = key === "Retries" ? (/^\d+$/.test(m[2]!) ? Number(m[2]) : undefined) : goDuration(m[2]!);
    if (value === undefined) throw bad(`invalid --${m[1]} ${JSON.stringify(m[2])}`);
    out[key] = value;
    rest = rest.slice(m[0].length);
  }
  if (rest.trim() === "NONE") return { Test: ["NONE"] };
  const cmd = /^CMD\s+(.+)$/s.exec(rest);
  if (!cmd) throw bad("HEALTHCHECK takes CMD command or NONE");
  const form = commandForm(cmd[1]!, bad);
  return { Test: cmd[1]!.startsWith("[") ? ["CMD", ...form] : ["CMD-SHELL", cmd[1]!], ...out };
}

// JSON array ("exec form") as is; anything else ("shell form") runs under /bin/sh -c, as Docker does.
function commandForm(args: string, bad: (why: string) => UserError): string[] {
  if (!args.startsWith("[")) return ["/bin/sh", "-c", args];
  let parsed: unknown;
  try {
    parsed = JSON.parse(args);
  } catch {
    throw bad("not a valid JSON array");
  }
  if (!Array.isArray(parsed) || !parsed.every((s) => typeof s === "string")) throw bad("must be a JSON array of strings");
  return parsed;
}

// "ENV K=V K2="two words"" or the legacy "ENV K some value".
function envPairs(args: string, bad: (why: string) => UserError): string[] {
  const legacy = /^([^\s=]+)\s+(.*)$/s.exec(args);
  if (legacy && !legacy[1]!.includes("=")) return [`${legacy[1]}=${legacy[2]}`];
  const pairs = splitWords(args, bad);
  for (const pair of pairs) if (pair.indexOf("=") <= 0) throw bad(`${JSON.stringify(pair)} is not NAME=VALUE`);
  return pairs;
}

// Whitespace-separated words where '…' and "…" group and a backslash escapes one character.
function splitWords(text: string, bad: (why: string) => UserError): string[] {
  const words: string[] = [];
  let word: string | undefined;
  let quote: string | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === "\\" && quote !== "'" && i + 1 < text.length) word = (word ?? "") + text[++i];
    else if (quote !== undefined && c === quote) quote = undefined;
    else if (quote === undefined && (c === '"' || c === "'")) {
      quote = c;
      word ??= "";
    } else if (quote === undefined && /\s/.test(c)) {
      if (word !== undefined) words.push(word);
      word = undefined;
    } else word = (word ?? "") + c;
  }
  if (quote !== undefined) throw bad("unterminated quote");
  if (word !== undefined) words.push(word);
  return words;
}

function mergeEnv(env: string[], pairs: string[]): string[] {
  const byName = new Map(env.map((e) => [e.slice(0, e.indexOf("=")), e]));
  for (const pair of pairs) byName.set(pair.slice(0, pair.indexOf("=")), pair);
  return [...byName.values()];
}

/** A map's keys in Go's order (encoding/json sorts them), as Docker writes a config's maps. */
function sortedKeys<T>(m: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.keys(m).sort().map((k) => [k, m[k]!]));
}

/**
 * A config in one key order (and its maps' keys sorted), so equal configs serialise (and hash
 * into image ids) identically; undefined fields are left out.
 */
export function canonical(c: ImageConfig): ImageConfig {
  const out: ImageConfig = {};
  if (c.Env !== undefined) out.Env = c.Env;
  if (c.Cmd !== undefined) out.Cmd = c.Cmd;
  if (c.Entrypoint !== undefined) out.Entrypoint = c.Entrypoint;
  if (c.WorkingDir !== undefined) out.WorkingDir = c.WorkingDir;
  if (c.User !== undefined) out.User = c.User;
  if (c.StopSignal !== undefined) out.StopSignal = c.StopSignal;
  if (c.ExposedPorts !== undefined) out.ExposedPorts = sortedKeys(c.ExposedPorts);
  if (c.Labels !== undefined) out.Labels = sortedKeys(c.Labels);
  if (c.Volumes !== undefined) out.Volumes = sortedKeys(c.Volumes);
  for (const key of Object.keys(c).sort()) if (!(key in out) && c[key] !== undefined) out[key] = c[key];
  return out;
}

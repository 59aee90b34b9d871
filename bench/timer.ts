// What the benchmark's parts share: the timer around one command, the wrapper crun needs on this
// host, and the statistics and tables of the report.
import { existsSync } from "node:fs";

/** The environment of every child: no tracing unless asked, a fixed locale for $EPOCHREALTIME. */
export function benchEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith("BOX_")) env[k] = v;
  env.LC_ALL = "C";
  return env;
}

/**
 * bash reads $EPOCHREALTIME just before and after the command, so bash's own start stays out of
 * the time; prints "T START END EXIT". `output`: where the command's stdout goes.
 */
export function timerScript(output: "/dev/null" | "stderr"): string {
  const redirect = output === "stderr" ? "1>&2" : ">/dev/null 2>&1";
  return `t0=$EPOCHREALTIME; "$@" </dev/null ${redirect}; rc=$?; t1=$EPOCHREALTIME; echo "T $t0 $t1 $rc"`;
}

/** ms between two $EPOCHREALTIME readings, without floating point's rounding of the seconds. */
export function diffMs(a: string, b: string): number {
  const [as, au = "0"] = a.split(".");
  const [bs, bu = "0"] = b.split(".");
  return (Number(bs) - Number(as)) * 1000 + (Number(bu.padEnd(6, "0")) - Number(au.padEnd(6, "0"))) / 1000;
}

/**
 * `shell -c script shell args...` in a private mount namespace whose cgroup2 mount at `unified`
 * is hidden under a tmpfs: crun 1.8 refuses this hybrid host's layout otherwise (see the method
 * in BENCHMARKS.md).
 */
export function hidingUnified(unified: string, shell: "bash" | "sh", script: string, args: string[]): string[] {
  return ["unshare", "-m", "--propagation", "private", shell, "-c", `mount -t tmpfs none ${unified} || exit 97; ${script}`, shell, ...args];
}

/** A command's time under the timer, its peak RSS and its CPU time. */
export interface Usage {
  ms: number;
  /** Peak RSS of the command (the largest of its processes), bytes; NaN without GNU time. */
  maxRssBytes: number;
  /** user + system CPU time, ms. */
  cpuMs: number;
}

const GNU_TIME = "/usr/bin/time";

/** Runs `outer` + the timer around the command; throws unless the command exits 0. */
function underTimer(argv: string[], env: Record<string, string>, wrap?: (script: string, args: string[]) => string[], outer: string[] = []) {
  const script = timerScript("/dev/null");
  const r = Bun.spawnSync([...outer, ...(wrap ? wrap(script, argv) : ["bash", "-c", script, "bash", ...argv])], { env, stdout: "pipe", stderr: "pipe" });
  const m = /T (\S+) (\S+) (\d+)/.exec(r.stdout.toString());
  if (!m || m[3] !== "0") throw new Error(`${argv.join(" ")} failed: ${r.stdout}${r.stderr}`);
  return { ms: diffMs(m[1]!, m[2]!), r };
}

/**
 * The command's time in ms, under the timer (its output dropped); `wrap` builds the argv around
 * the timer script (default: plain bash). Throws unless it exits 0.
 */
export function timed(argv: string[], env: Record<string, string>, wrap?: (script: string, args: string[]) => string[]): number {
  return underTimer(argv, env, wrap).ms;
}

/**
 * As `timed`, with the command's peak RSS and CPU time. The peak RSS comes from GNU time around
 * the timer's shell (outside the timed span): Bun's own `resourceUsage().maxRSS` cannot give it,
 * since a child that Bun vfork()s and that then execs starts its count at Bun's RSS (the kernel
 * takes the old mm's high-water mark at exec).
 */
export function timedUsage(argv: string[], env: Record<string, string>): Usage {
  const haveTime = existsSync(GNU_TIME);
  const { ms, r } = underTimer(argv, env, undefined, haveTime ? [GNU_TIME, "-f", "maxrss %M"] : []);
  const kib = haveTime ? Number(/^maxrss (\d+)$/m.exec(r.stderr.toString())?.[1] ?? NaN) : NaN;
  const cpu = r.resourceUsage?.cpuTime.total;
  return { ms, maxRssBytes: kib * 1024, cpuMs: cpu === undefined ? NaN : Number(cpu) / 1000 };
}

export interface Stats {
  n: number;
  median: number;
  p10: number;
  p90: number;
  mean: number;
  min: number;
  max: number;
}

/** Percentile by linear interpolation between the closest ranks (numpy's default). */
function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = (p / 100) * (sorted.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (rank - lo);
}

export function stats(values: number[]): Stats {
  const s = [...values].sort((a, b) => a - b);
  return {
    n: s.length,
    median: percentile(s, 50),
    p10: percentile(s, 10),
    p90: percentile(s, 90),
    mean: s.reduce((a, b) => a + b, 0) / (s.length || 1),
    min: s[0] ?? NaN,
    max: s[s.length - 1] ?? NaN,
  };
}

export function median(values: number[]): number {
  return stats(values).median;
}

export const ms = (v: number, digits = 1) => (Number.isFinite(v) ? v.toFixed(digits) : "n/a");

export function table(head: string[], rows: string[][], align?: ("l" | "r")[]): string {
  const sep = head.map((_, i) => ((align?.[i] ?? (i === 0 ? "l" : "r")) === "r" ? "---:" : "---"));
  return [head, sep, ...rows].map((r) => `| ${r.join(" | ")} |`).join("\n");
}

import { defineCommand } from "citty";
import { isErrno, write } from "../sys/fs.ts";
import { Errno } from "../sys/errors.ts";
import { exitNow } from "../sys/process.ts";
import { UserError } from "../container/errors.ts";
import { findContainer } from "../container/lookup.ts";
import { liveContainer } from "../container/live.ts";
import { readableLog, readLog, readLogSince, type LogEntry, type LogPosition } from "../container/logs.ts";
import type { Store } from "../container/store.ts";
import type { ContainerSpec } from "../container/spec.ts";
import { globals } from "./context.ts";
import { parseFlags } from "./flags.ts";
import { printHelp } from "./help.ts";
import { goDuration } from "../duration.ts";

/**
 * --since, --until: RFC 3339, a Unix time in seconds, or a Go duration before now (10m, 1h30m),
 * as Docker's; in milliseconds since 1970.
 */
export function parseTime(flag: string, text: string, now = Date.now()): number {
  const before = goDuration(text);
  if (before !== undefined) return now - before / 1e6;
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text) * 1000;
  const t = Date.parse(text);
  if (Number.isNaN(t)) throw new UserError(`invalid value "${text}" for ${flag}: use a time (2026-01-02T15:04:05Z), seconds since 1970, or a duration (10m)`);
  return t;
}

/** An entry on the stream it came from (stdout or stderr). */
export function printEntry(e: LogEntry, timestamps = false): void {
  const text = timestamps ? `${e.time} ${e.log}` : e.log;
  try {
    write(e.stream === "stderr" ? 2 : 1, text);
  } catch (err) {
    // `box logs web | head`: the reader has what it wanted.
    if (isErrno(err, Errno.EPIPE)) exitNow(0);
    throw err;
  }
}

/**
 * The last `n` entries offered, in order: what `--tail N` holds while the log is read (never
 * more, however large the log).
 */
function lastEntries(n: number): { offer(e: LogEntry): void; entries(): LogEntry[] } {
  const ring: LogEntry[] = [];
  let count = 0;
  return {
    offer(e) {
      if (n === 0) return;
      ring[count % n] = e;
      count++;
    },
    entries: () => (count <= n ? ring : [...ring.slice(count % n), ...ring.slice(0, count % n)]),
  };
}

export const logsCommand = defineCommand({
  meta: { name: "logs", description: "Print what a container started with -d (or box start) wrote" },
  args: {
    follow: { type: "boolean", alias: "f", description: "Keep printing new output until the container stops" },
    tail: { type: "string", alias: "n", description: "Only the last N lines (default: all)", valueHint: "N" },
    since: { type: "string", description: "Only output since a time or for a duration (10m)", valueHint: "TIME" },
    until: { type: "string", description: "Only output before a time or a duration ago (10m); with -f, stop then", valueHint: "TIME" },
    timestamps: { type: "boolean", alias: "t", description: "Prefix every line with its time" },
    container: { type: "positional", description: "Container name or id (prefix)", required: false },
  },
  async run({ rawArgs, cmd }) {
    const flags = parseFlags(rawArgs, cmd.args as never, [], false);
    if (flags.help) return printHelp(cmd, ["box logs web", "box logs -f --tail 10 web", "box logs --since 5m -t web", "box logs --until 2026-01-02T15:04:05Z web"]);
    if (flags.positionals.length !== 1) throw new UserError(`"box logs" requires exactly 1 argument`);
    const tailText = flags.values.tail as string | undefined;
    if (tailText !== undefined && tailText !== "all" && !/^\d+$/.test(tailText)) throw new UserError(`invalid value "${tailText}" for --tail: a number or all`);
    const [since, until] = (["since", "until"] as const).map((f) => (flags.values[f] === undefined ? undefined : parseTime(`--${f}`, flags.values[f] as string)));
    const inRange = (e: LogEntry) => {
      const t = Date.parse(e.time);
      return (since === undefined || t >= since) && (until === undefined || t <= until);
    };
    const timestamps = flags.values.timestamps === true;
    const { store } = globals();
    const spec = findContainer(store, flags.positionals[0]!);
    if (!readableLog(spec.log)) throw new UserError(`configured logging driver does not support reading: ${spec.name} has --log-driver ${spec.log.driver}`);
    const dir = liveContainer(store, spec).paths.dir;

    // Each entry is printed as it is read (a log is never held whole), or with --tail kept among the last N.
    const tail = tailText === undefined || tailText === "all" ? undefined : lastEntries(Number(tailText));
    const print = (e: LogEntry) => printEntry(e, timestamps);
    const first = readLog(dir, (e) => {
      if (!inRange(e)) return;
      if (tail) tail.offer(e);
      else print(e);
    });
    for (const e of tail?.entries() ?? []) print(e);
    if (flags.values.follow === true) await followLog(store, spec, dir, first, (e) => inRange(e) && print(e), until);
  },
});

/**
 * Visits what the container adds to its log from `position` on, until it has stopped (and its
 * last lines are read), it is removed, or the time `until` has come.
 */
export async function followLog(store: Store, spec: ContainerSpec, dir: string, position: LogPosition, visit: (e: LogEntry) => void, until?: number): Promise<void> {
  for (;;) {
    const running = liveContainer(store, spec).pid !== undefined;
    const next = readLogSince(dir, position, visit);
    if (!next) return; // removed (rm, or --rm)
    position = next;
    // The init writes the last lines before it records the exit: this read had them.
    if (!running) return;
    // --until: following ends at that time, as Docker's.
    if (until !== undefined && Date.now() > until) return;
    await Bun.sleep(until === undefined ? 50 : Math.max(0, Math.min(50, until - Date.now() + 1)));
  }
}

// Phase timestamps for the benchmark's breakdown of where a `box run` spends its time.
// BOX_TRACE=1 writes one JSON line per phase to stderr; otherwise this costs one env lookup.
import { write } from "./sys/fs.ts";

const enabled = process.env.BOX_TRACE === "1";

/** Wall-clock time in ms with sub-ms precision, comparable across box's processes. */
function now(): number {
  return performance.timeOrigin + performance.now();
}

export function trace(process_: "cli" | "init", phase: string): void {
  if (!enabled) return;
  write(2, `${JSON.stringify({ box_trace: process_, phase, t: now(), origin: performance.timeOrigin })}\n`);
}

/** Passed on to the init so both processes trace. */
export function traceEnv(): string[] {
  return enabled ? ["BOX_TRACE=1"] : [];
}

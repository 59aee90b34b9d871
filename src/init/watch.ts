// Hands a detached container over to the watcher (src/sys/watch.c): the init execs it in place,
// so PID 1 stays PID 1 and the payload stays its child, and an idle container then costs the
// watcher's tens of KB instead of a Bun runtime's ~6 MB. The watcher forwards signals, reaps,
// logs, and at the end executes the container's teardown plan (src/container/lifecycle.ts):
// box cannot be exec'd again from inside the container's root (its dynamic loader is not there).
import watcher from "../../dist/box-watch.b64" with { type: "text" };
import { execAt, keepOpenAcrossExec, memoryFile } from "../sys/process.ts";
import type { LogSpec } from "../container/spec.ts";
import { lastRotation } from "../container/logs.ts";

export interface Watched {
  payload: number;
  stdout: number;
  stderr: number;
  log: LogSpec;
  /** Where json.log is: the container's directory, as a /proc/self/fd path that stays valid across the exec. */
  containerDir: string;
  /** The container's memory.oom_control (v1) or memory.events (v2), "" without a memory controller. */
  oomFile: string;
  /** The teardown plan's steps, as the watcher reads them (lifecycle.ts's watcherSteps). */
  teardown: string[];
  /** Descriptors behind the paths, to keep open across the exec. */
  keep: number[];
}

export function handOver(w: Watched): never {
  for (const fd of [w.stdout, w.stderr, ...w.keep]) keepOpenAcrossExec(fd);
  const exe = memoryFile("box-watch", Buffer.from(watcher, "base64"));
  const params = [w.payload, w.stdout, w.stderr, w.log.maxSize ?? 0, w.log.maxFiles, w.containerDir, w.oomFile, lastRotation(w.containerDir)];
  // Parameters in the environment, so that the command line stays `box __init` (ps, box top).
  // Without any BOX_W* or BOX_S* of box's own environment: the watcher takes the first of a name.
  const env = Object.entries(process.env).flatMap(([k, v]) => (v === undefined || k.startsWith("BOX_W") || k.startsWith("BOX_S") ? [] : [`${k}=${v}`]));
  return execAt(exe, ["box", "__init"], [...env, ...params.map((v, i) => `BOX_W${i}=${v}`), ...w.teardown.map((step, i) => `BOX_S${i}=${step}`)]);
}

// Hands a detached container over to the watcher (src/sys/watch.c): the init execs it in place,
// so PID 1 stays PID 1 and the payload stays its child, and an idle container then costs the
// watcher's tens of KB instead of a Bun runtime's ~6 MB. The watcher forwards signals, reaps,
// logs, and at the end records the exit (or removes an --rm container) itself: box cannot be
// exec'd again from inside the container's root (its dynamic loader is not there).
import watcher from "../../dist/box-watch.b64" with { type: "text" };
import { execAt, keepOpenAcrossExec, memoryFile } from "../sys/process.ts";
import type { LogSpec } from "../container/spec.ts";
import type { ContainerState } from "../container/store.ts";

export interface Watched {
  payload: number;
  stdout: number;
  stderr: number;
  log: LogSpec;
  /** The host's directories, as /proc/self/fd paths that stay valid across the exec. */
  containerDir: string;
  runDir: string;
  nameFile: string;
  cgroupDirs: string[];
  /** The container's memory.oom_control (v1) or memory.events (v2), "" without a memory controller. */
  oomFile: string;
  /** The state the watcher records when the payload has ended. */
  state: ContainerState;
  remove: boolean;
  id: string;
  /** The event journal (a /proc/self/fd path) and the lines to append to it at the end. */
  journal: { path: string; template: string };
  /** Descriptors behind those paths, to keep open across the exec. */
  keep: number[];
}

export function handOver(w: Watched): never {
  for (const fd of [w.stdout, w.stderr, ...w.keep]) keepOpenAcrossExec(fd);
  const exe = memoryFile("box-watch", Buffer.from(watcher, "base64"));
  // The exit code, the OOM flag and the time are filled in by the watcher.
  const template = JSON.stringify({ ...w.state, status: "exited", finishedAt: "@TIME@" }).replace(/}$/, ',"exitCode":@CODE@,"oomKilled":@OOM@}');
  const params = [
    w.payload, w.stdout, w.stderr, w.log.maxSize ?? 0, w.log.maxFiles,
    w.containerDir, w.runDir, template, w.oomFile, w.remove ? 1 : 0, w.cgroupDirs.join("\n"), w.nameFile, w.id,
    w.journal.path, w.journal.template,
  ];
  // Parameters in the environment, so that the command line stays `box __init` (ps, box top).
  // Without any BOX_W* of box's own environment: the watcher takes the first of a name.
  const env = Object.entries(process.env).flatMap(([k, v]) => (v === undefined || k.startsWith("BOX_W") ? [] : [`${k}=${v}`]));
  return execAt(exe, ["box", "__init"], [...env, ...params.map((v, i) => `BOX_W${i}=${v}`)]);
}

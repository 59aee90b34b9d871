// The health timer of a detached container whose init became the native watcher: a process of
// the host (src/sys/health-timer.c) that runs `box healthcheck run ID` on the check's schedule
// and ends with the container's init. Started by the box command that started the container (run
// -d, start, system boot): the container's own processes, PID 1 included, cannot start box in the
// host's namespaces. docs/ARCHITECTURE.md ("Health checks") says why this and not the Bun init.
import timer from "../../dist/box-health-timer.b64" with { type: "text" };
import { close, open } from "../sys/fs.ts";
import { O_RDONLY, O_RDWR } from "../sys/constants.ts";
import { memoryFile } from "../sys/process.ts";
import { pidfdOpen } from "../sys/pidfd.ts";
import { spawn } from "../sys/spawn.ts";
import { join, resolve } from "../path.ts";
import { selfCommand } from "../init/self.ts";
import type { ContainerPaths, ContainerSpec } from "./spec.ts";
import type { Store } from "./store.ts";

/** Starts the timer of the container whose init is `initPid` (its pid). */
export function startHealthTimer(store: Store, spec: ContainerSpec, paths: Pick<ContainerPaths, "runDir">, initPid: number): number {
  const h = spec.healthcheck!;
  const self = selfCommand();
  const opened: number[] = [];
  const keep = (fd: number) => (opened.push(fd), fd);
  try {
    const devNull = keep(open("/dev/null", O_RDWR));
    const init = keep(pidfdOpen(initPid));
    const box = keep(open(self.path, O_RDONLY));
    const program = keep(memoryFile("box-health-timer", Buffer.from(timer, "base64")));
    const ms = (ns: number) => String(Math.max(1, Math.round(ns / 1e6)));
    return spawn({
      path: "box-health-timer",
      program,
      // What `ps` shows: the timer, and the command it runs.
      // Absolute: the timer's working directory is /.
      argv: ["box-health-timer", ...self.argv, "--root", resolve(store.root), "--runroot", resolve(store.runroot), "healthcheck", "run", spec.id],
      env: [
        `PATH=${process.env.PATH ?? "/usr/bin:/bin"}`,
        // As an init's: whose process it is (box rm, the tests' leak check).
        `BOX_ROOT=${resolve(store.root)}`,
        `BOX_RUNROOT=${resolve(store.runroot)}`,
        ...["HOME", "XDG_RUNTIME_DIR"].flatMap((k) => (process.env[k] === undefined ? [] : [`${k}=${process.env[k]}`])),
        `BOX_H0=${ms(h.interval)}`,
        `BOX_H1=${ms(h.startInterval)}`,
        `BOX_H2=${Math.round(h.startPeriod / 1e6)}`,
        `BOX_H3=${resolve(join(paths.runDir, "health.json"))}`,
      ],
      fds: [[devNull, 0], [devNull, 1], [devNull, 2], [init, 3], [box, 4]],
      // Not in the caller's session: a ^C at its terminal or its end is no business of the timer's.
      setsid: true,
      // Nor its working directory, held (and its mount busy) for the container's life.
      cwd: "/",
    });
  } finally {
    for (const fd of opened) close(fd);
  }
}

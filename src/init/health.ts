// The init runs a container's health check on its schedule, as Docker's daemon does: the probe
// is started confined as the payload is (its user, cgroup, namespaces, capabilities, seccomp),
// its output read up to 4 KiB, killed past the timeout. A container with a health check keeps
// this Bun init as its watcher (docs/ARCHITECTURE.md says what that costs and why).
import { close, open } from "../sys/fs.ts";
import { O_RDONLY, SIGKILL } from "../sys/constants.ts";
import { kill, type WaitResult } from "../sys/process.ts";
import { describeError } from "../sys/errors.ts";
import { probeCommand, probeOutput, readHealth, recordHealth, resetHealth, timedOut, type HealthResult } from "../container/health.ts";
import type { HealthSpec } from "../container/spec.ts";
import { EXIT_NOT_FOUND } from "../container/errors.ts";

export interface HealthSchedule {
  health: HealthSpec;
  runDir: string;
  /** Starts the probe confined as the payload; its pid. */
  start(argv: string[], fds: [number, number][]): number;
  /** The init's reaper hands a probe's status here (it reaps every child). */
  children: Map<number, (r: WaitResult) => void>;
  /** Once the container turns unhealthy (--health-on-failure other than none). */
  onUnhealthy(): void;
}

/** Starts the schedule for one run of the payload; the function stops it. */
export function scheduleHealth(s: HealthSchedule): () => void {
  const h = s.health;
  const paths = { runDir: s.runDir };
  const startedAt = Date.now();
  let stopped = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  // The probe running now, to end with the schedule: its pid, its timers and its pipe.
  const running: { end?: () => void } = {};
  resetHealth(paths);
  const next = () => {
    if (stopped) return;
    // In the start period, while not yet healthy, the start interval (Docker 25's).
    const starting = readHealth(paths)?.Status === "starting" && Date.now() - startedAt < h.startPeriod / 1e6;
    timer = setTimeout(() => void tick(), (starting ? h.startInterval : h.interval) / 1e6);
  };
  const tick = async () => {
    const result = await probe(s, running);
    if (stopped) return;
    const before = readHealth(paths)?.Status;
    const state = recordHealth(paths, result, h, startedAt);
    if (state.Status === "unhealthy" && before !== "unhealthy" && h.onFailure !== "none") s.onUnhealthy();
    next();
  };
  next();
  return () => {
    stopped = true;
    clearTimeout(timer);
    running.end?.();
  };
}

async function probe(s: HealthSchedule, running: { end?: () => void }): Promise<HealthResult> {
  const Start = new Date().toISOString();
  const output = probeOutput();
  const devNull = open("/dev/null", O_RDONLY);
  let pid: number;
  try {
    pid = s.start(probeCommand(s.health), [[devNull, 0], [output.write, 1], [output.write, 2]]);
  } catch (e) {
    output.finish();
    return { Start, End: new Date().toISOString(), ExitCode: EXIT_NOT_FOUND, Output: describeError(e) };
  } finally {
    output.closeWrite();
    close(devNull);
  }
  let killed = false;
  const timeout = setTimeout(() => {
    killed = true;
    kill(pid, SIGKILL);
  }, s.health.timeout / 1e6);
  const exit = await new Promise<WaitResult | undefined>((resolve) => {
    s.children.set(pid, resolve);
    // The schedule stops (the payload ended): the probe goes with it, and nothing of it stays.
    running.end = () => {
      kill(pid, SIGKILL);
      resolve(undefined);
    };
  });
  running.end = undefined;
  clearTimeout(timeout);
  s.children.delete(pid);
  const Output = output.finish();
  const End = new Date().toISOString();
  if (exit === undefined) return { Start, End, ExitCode: -1, Output: "the container stopped" };
  if (killed) return { Start, End, ExitCode: -1, Output: timedOut(s.health) };
  return { Start, End, ExitCode: exit.code, Output };
}

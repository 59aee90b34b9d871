// Health checks as Docker keeps them: a probe's result moves the container's health between
// starting, healthy and unhealthy (State.Health: Status, FailingStreak, the last 5 results).
// Who runs the probe differs (the init on schedule, `box healthcheck run` on demand); what a
// result means, and where it is recorded, is here, once.
import { join } from "../path.ts";
import { close, open, read as readFd, readFile, withLockFile, writeFileAtomic } from "../sys/fs.ts";
import { O_NONBLOCK, O_RDONLY } from "../sys/constants.ts";
import { pipe } from "../sys/process.ts";
import type { ContainerPaths, HealthSpec } from "./spec.ts";

export type HealthStatus = "starting" | "healthy" | "unhealthy";

/** One probe, as Docker's HealthcheckResult. */
export interface HealthResult {
  Start: string;
  End: string;
  ExitCode: number;
  Output: string;
}

export interface HealthState {
  Status: HealthStatus;
  FailingStreak: number;
  Log: HealthResult[];
}

/** Docker keeps the last 5 results, and at most 4 KiB of a probe's output. */
const LOG_LENGTH = 5;
const OUTPUT_LIMIT = 4096;

/** Docker's defaults for what a HEALTHCHECK or --health-* leaves out. */
export const HEALTH_DEFAULTS = { interval: 30e9, timeout: 30e9, startPeriod: 0, startInterval: 5e9, retries: 3 };

const healthFile = (paths: Pick<ContainerPaths, "runDir">) => join(paths.runDir, "health.json");

/** The probe's command line: CMD-SHELL's under /bin/sh -c, CMD's as given. */
export function probeCommand(h: HealthSpec): string[] {
  return h.test[0] === "CMD-SHELL" ? ["/bin/sh", "-c", h.test[1]!] : h.test.slice(1);
}

/**
 * Docker's rules: a success makes it healthy; a failure counts toward `retries`, unless it comes
 * in the start period while the container has not been healthy yet.
 */
export function nextHealth(state: HealthState, result: HealthResult, h: HealthSpec, startedAt: number): HealthState {
  const Log = [...state.Log, result].slice(-LOG_LENGTH);
  if (result.ExitCode === 0) return { Status: "healthy", FailingStreak: 0, Log };
  const inStartPeriod = state.Status === "starting" && Date.parse(result.Start) - startedAt < h.startPeriod / 1e6;
  if (inStartPeriod) return { ...state, Log };
  const FailingStreak = state.FailingStreak + 1;
  return { Status: FailingStreak >= h.retries ? "unhealthy" : state.Status, FailingStreak, Log };
}

export function readHealth(paths: Pick<ContainerPaths, "runDir">): HealthState | undefined {
  try {
    return JSON.parse(readFile(healthFile(paths))) as HealthState;
  } catch {
    return undefined;
  }
}

/** A new start: its health starts again. */
export function resetHealth(paths: Pick<ContainerPaths, "runDir">): void {
  writeFileAtomic(healthFile(paths), JSON.stringify({ Status: "starting", FailingStreak: 0, Log: [] } satisfies HealthState), 0o600);
}

/** Records a probe's result (one writer at a time: the init's schedule and `healthcheck run` may meet); the new state. */
export function recordHealth(paths: Pick<ContainerPaths, "runDir">, result: HealthResult, h: HealthSpec, startedAt: number): HealthState {
  // Never made again: a container removed meanwhile has no health to record.
  return withLockFile(join(paths.runDir, "health.lock"), () => {
    const state = nextHealth(readHealth(paths) ?? { Status: "starting", FailingStreak: 0, Log: [] }, result, h, startedAt);
    writeFileAtomic(healthFile(paths), JSON.stringify(state), 0o600);
    return state;
  }, false);
}

/** Docker's words for a probe killed past its timeout. */
export function timedOut(h: HealthSpec): string {
  return `Health check exceeded timeout (${h.timeout / 1e9}s)`;
}

/**
 * Where a probe writes (`write`, for its stdout and stderr): a pipe drained while the probe runs
 * (one that writes more than a pipe holds must not block), kept up to OUTPUT_LIMIT, through a
 * non-blocking description of its own (a child of the probe may hold the pipe open).
 * `closeWrite` once the probe has its copy; `finish` gives what it wrote and closes the rest.
 */
export function probeOutput(): { write: number; closeWrite(): void; finish(): string } {
  const [read, write] = pipe();
  const reader = open(`/proc/self/fd/${read}`, O_RDONLY | O_NONBLOCK);
  close(read);
  const kept = new Uint8Array(OUTPUT_LIMIT);
  let size = 0;
  const drain = () => {
    const buf = new Uint8Array(65536);
    try {
      for (let n = readFd(reader, buf); n > 0; n = readFd(reader, buf)) {
        if (size < OUTPUT_LIMIT) kept.set(buf.subarray(0, Math.min(n, OUTPUT_LIMIT - size)), size);
        size = Math.min(OUTPUT_LIMIT, size + n);
      }
    } catch {
      // EAGAIN: nothing more for now.
    }
  };
  const draining = setInterval(drain, 50);
  let writeOpen = true;
  const closeWrite = () => {
    if (writeOpen) close(write);
    writeOpen = false;
  };
  return {
    write,
    closeWrite,
    finish() {
      closeWrite();
      clearInterval(draining);
      drain();
      close(reader);
      return new TextDecoder().decode(kept.subarray(0, size));
    },
  };
}

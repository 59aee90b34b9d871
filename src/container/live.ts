// A stored container together with what is true of it right now: is its init still running?
import { readFile } from "../sys/fs.ts";
import { processIdentity } from "../sys/process.ts";
import { containerCgroupDirs } from "../cgroup/paths.ts";
import { UserError } from "./errors.ts";
import { findContainer } from "./lookup.ts";
import { containerPaths, readState, stateWithoutRunDir, type ContainerState, type Store } from "./store.ts";
import type { ContainerPaths, ContainerSpec } from "./spec.ts";

export interface LiveContainer {
  spec: ContainerSpec;
  paths: ContainerPaths;
  state: ContainerState;
  /** the init's pid, when it is running */
  pid?: number;
  /**
   * It was running, and its init is gone without recording an end: killed, or the machine went
   * down (`box system boot` starts an on-failure container then).
   */
  interrupted: boolean;
}

/**
 * The pid recorded in the state is trusted only if it is still an init of this store, started
 * when the recorded one was (a reused pid belongs to a process with another start time).
 */
export function runningInit(store: Store, pid: number | undefined, pidStart?: number): number | undefined {
  if (!pid) return undefined;
  try {
    // A dead init waits as a zombie until whoever adopted it reaps it: it runs no more.
    const id = processIdentity(pid);
    if (id.zombie || (pidStart !== undefined && id.start !== pidStart)) return undefined;
    // Its start time says it is the process the state names. Not its command line: an init that
    // hands a detached container over to the watcher execs it, and meanwhile /proc/PID/cmdline
    // reads empty (a second `box start` right after the first saw it so, and started another).
    if (pidStart !== undefined) return pid;
    const cmdline = readFile(`/proc/${pid}/cmdline`);
    const environ = readFile(`/proc/${pid}/environ`).split("\0");
    if (cmdline.includes("__init") && environ.includes(`BOX_ROOT=${store.root}`)) return pid;
  } catch {}
  return undefined;
}

/**
 * The running init of container `id` by its state alone: its recorded pid, still the process
 * started at the recorded time and no zombie. `proc` is where the host's /proc is (an init
 * reaches it through a descriptor after pivot_root, and `store` then holds descriptor paths).
 */
export function stateInit(store: Store, id: string, proc = "/proc"): number | undefined {
  const state = readState(containerPaths(store, id, []));
  if (!state?.pid || state.status === "exited" || state.status === "created") return undefined;
  return sameProcess(state.pid, state.pidStart, proc) ? state.pid : undefined;
}

/**
 * The pid of the container's running init, from its state: box's init; for a box oci container,
 * the process it became at start (runc's model), known by its start time alone.
 */
export function containerProcess(store: Store, spec: Pick<ContainerSpec, "runtime">, state: { pid?: number; pidStart?: number } | undefined): number | undefined {
  if (!state?.pid) return undefined;
  if (spec.runtime) return sameProcess(state.pid, state.pidStart) ? state.pid : undefined;
  return runningInit(store, state.pid, state.pidStart);
}

/**
 * Whether `pid` is still the process started at `start` (a reused pid has another start time) and
 * runs (a zombie waits only to be reaped): box oci's container process, which was box's init
 * until it became the process.
 */
export function sameProcess(pid: number, start: number | undefined, proc = "/proc"): boolean {
  try {
    const who = processIdentity(pid, proc);
    return who.start === start && !who.zombie;
  } catch {
    return false;
  }
}

export function liveContainer(store: Store, spec: ContainerSpec): LiveContainer {
  const paths = containerPaths(store, spec.id, spec.rootless ? [] : containerCgroupDirs(spec));
  const state = readState(paths) ?? stateWithoutRunDir(paths);
  const pid = containerProcess(store, spec, state);
  const interrupted = pid === undefined && state.status !== "created" && state.status !== "exited";
  return { spec, paths, state: interrupted ? { ...state, status: "exited" } : state, pid, interrupted };
}

/** For commands that act on a running container; `shown` names it in the error. */
export function requireRunning(store: Store, spec: ContainerSpec, shown = spec.name): LiveContainer & { pid: number } {
  const c = liveContainer(store, spec);
  if (c.pid === undefined) throw new UserError(`container ${shown} is not running`);
  return c as LiveContainer & { pid: number };
}

/** The container's cgroups, for `box COMMAND`, which needs them: a rootless container has none. */
export function cgroupsFor(c: LiveContainer, command: string): string[] {
  if (c.spec.rootless) throw new UserError(`rootless: box ${command} needs cgroups, which a rootless box does not use yet`);
  return c.paths.cgroups;
}

export function findRunning(store: Store, ref: string): LiveContainer & { pid: number } {
  return requireRunning(store, findContainer(store, ref), ref);
}

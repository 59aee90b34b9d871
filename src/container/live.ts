// A stored container together with what is true of it right now: is its init still running?
import { readFile } from "../sys/fs.ts";
import { containerCgroupDirs } from "../cgroup/cgroups.ts";
import { UserError } from "./errors.ts";
import { findContainer } from "./lookup.ts";
import { containerPaths, readState, type ContainerState, type Store } from "./store.ts";
import type { ContainerPaths, ContainerSpec } from "./spec.ts";

export interface LiveContainer {
  spec: ContainerSpec;
  paths: ContainerPaths;
  state: ContainerState;
  /** the init's pid, when it is running */
  pid?: number;
}

/** The pid recorded in the state is trusted only if it is still an init of this store. */
export function runningInit(store: Store, pid: number | undefined): number | undefined {
  if (!pid) return undefined;
  try {
    const cmdline = readFile(`/proc/${pid}/cmdline`);
    const environ = readFile(`/proc/${pid}/environ`).split("\0");
    if (cmdline.includes("__init") && environ.includes(`BOX_ROOT=${store.root}`)) return pid;
  } catch {}
  return undefined;
}

export function liveContainer(store: Store, spec: ContainerSpec): LiveContainer {
  const paths = containerPaths(store, spec.id, containerCgroupDirs(spec.id));
  const state = readState(paths) ?? { status: "created" };
  const pid = runningInit(store, state.pid);
  return { spec, paths, state: pid === undefined && state.status !== "created" ? { ...state, status: "exited" } : state, pid };
}

/** For commands that act on a running container (pause, update, stats). */
export function findRunning(store: Store, ref: string): LiveContainer & { pid: number } {
  const c = liveContainer(store, findContainer(store, ref));
  if (c.pid === undefined) throw new UserError(`container ${ref} is not running`);
  return c as LiveContainer & { pid: number };
}

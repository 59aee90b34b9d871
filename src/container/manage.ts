// Whole-container chores: rename, the process list (top), prune.
import { readFile, unlink } from "../sys/fs.ts";
import { join } from "../path.ts";
import { withContainerLock } from "./lock.ts";
import { UserError } from "./errors.ts";
import { cgroupsFor, liveContainer, requireRunning } from "./live.ts";
import { cgroupProcesses } from "../cgroup/paths.ts";
import { listContainers } from "./lookup.ts";
import { removeStoredContainer } from "./remove.ts";
import { stateOf } from "./describe.ts";
import { pruneOrphans } from "./orphans.ts";
import { reclaimOrphanCgroups } from "../cgroup/owners.ts";
import { isRootless } from "../sys/process.ts";
import { claimName, isGeneratedName, layout, storeGone, validateName, writeConfig, type Store } from "./store.ts";
import type { ContainerSpec } from "./spec.ts";
import { recordContainerEvent } from "./events.ts";

/** `box rename`: the new name is claimed (O_EXCL) before the old one is given up. */
export function renameContainer(store: Store, found: ContainerSpec, newName: string): Promise<void> {
  validateName(newName);
  return withContainerLock(store, found, async (spec) => {
    if (newName === spec.name) throw new UserError(`renaming container ${spec.name}: it already has that name`);
    claimName(store, newName, spec.id);
    writeConfig(liveContainer(store, spec).paths, { ...spec, name: newName });
    if (!isGeneratedName(spec.name)) unlink(join(store.root, layout.name(spec.name)));
    recordContainerEvent(store.root, { ...spec, name: newName }, "rename", { oldName: `/${spec.name}` });
  });
}

export interface ProcessRow {
  /** pid on the host */
  pid: number;
  /** pid inside the container */
  containerPid: number;
  uid: number;
  command: string;
}

/** One process of a container as `ps` shows it; undefined once it is gone. */
export function processRow(pid: number): ProcessRow | undefined {
  try {
    const status = readFile(`/proc/${pid}/status`);
    const nspid = /^NSpid:\s+(.+)$/m.exec(status)?.[1]?.trim().split(/\s+/) ?? [];
    const uid = Number(/^Uid:\s+(\d+)/m.exec(status)?.[1] ?? -1);
    const cmdline = readFile(`/proc/${pid}/cmdline`).split("\0").filter(Boolean).join(" ");
    return { pid, containerPid: Number(nspid.at(-1) ?? pid), uid, command: cmdline || `[${/^Name:\s+(.+)$/m.exec(status)?.[1] ?? "?"}]` };
  } catch {
    return undefined; // gone meanwhile
  }
}

/** `box top`: the init and every process in the container's cgroup (payload, its children, exec'd ones). */
export function containerProcesses(store: Store, spec: ContainerSpec): ProcessRow[] {
  const c = requireRunning(store, spec);
  // Every process of the container joined every hierarchy: any one lists them all.
  const dir = cgroupsFor(c, "top")[0];
  const pids = dir === undefined ? [] : cgroupProcesses([dir]);
  // A box oci container's pid is its process, in the cgroup too.
  return [...new Set([c.pid, ...pids.sort((a, b) => a - b)])].flatMap((p) => processRow(p) ?? []);
}

/** `box container prune`: every container that is not running; the removed ids. */
/** Every container that is not running, then what killed box processes left that no record names. */
export async function pruneContainers(store: Store): Promise<string[]> {
  const removed: string[] = [];
  for (const spec of listContainers(store)) {
    const state = stateOf(liveContainer(store, spec));
    if (state !== "exited" && state !== "created") continue;
    await removeStoredContainer(store, spec, false);
    removed.push(spec.id);
  }
  pruneOrphans(store);
  // Any store's: those of stores deleted by hand (as prune does with their bridges).
  if (!isRootless()) reclaimOrphanCgroups(storeGone);
  return removed;
}

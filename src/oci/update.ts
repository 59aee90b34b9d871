// update and events: a running container's limits changed, its counters and OOM kills followed.
import type { Store } from "../container/store.ts";
import { UserError } from "../container/errors.ts";
import { liveContainer, sameProcess } from "../container/live.ts";
import { resources } from "./config.ts";
import { changesSomething, updateLimits } from "../container/update.ts";
import { readStats } from "../cgroup/stats.ts";
import { oomKills } from "../cgroup/events.ts";
import { findContainer, running, type Found } from "./found.ts";

/** update: new limits (the runtime spec's LinuxResources) for a running container's cgroup. */
export function updateResources(store: Store, id: string, doc: unknown): void {
  const { resources: changes, devices } = resources(doc);
  if (devices) throw new UserError("update: devices cannot be changed on a running container");
  if (!changesSomething(changes)) throw new UserError("update: no limit to change");
  const c = running(findContainer(store, id));
  updateLimits(liveContainer(store, c.spec), changes, "oci update");
}

/**
 * events: as runc's, the stats event every `intervalMs`, and {"type":"oom"} as soon as the OOM
 * killer takes one of the container's processes (looked at every 100 ms); an error once it has
 * stopped. The container is looked up once; after that only its process and its cgroup are read.
 */
export async function followEvents(store: Store, id: string, intervalMs: number, emit: (event: object) => void): Promise<never> {
  const c = running(findContainer(store, id));
  let ooms = oomKills(c.paths.cgroups);
  for (let next = 0; ; await Bun.sleep(100)) {
    if (!sameProcess(c.pid!, c.pidStart)) throw new UserError("container not running");
    const now = oomKills(c.paths.cgroups);
    if (now > ooms) emit({ type: "oom", id });
    ooms = now;
    if (Date.now() < next) continue;
    emit(stats(c, id));
    next = Date.now() + Math.max(intervalMs, 100);
  }
}

/** events --stats: the container's counters, as runc's stats event. */
export function statsEvent(store: Store, id: string): object {
  return stats(running(findContainer(store, id)), id);
}

function stats(c: Found, id: string): object {
  const s = readStats(c.paths.cgroups);
  return {
    type: "stats",
    id,
    data: {
      cpu: { usage: { total: s.cpuNs } },
      memory: { usage: { usage: s.memoryUsage, limit: s.memoryLimit } },
      pids: { current: s.pids },
      blkio: { ioServiceBytesRecursive: [{ op: "Read", value: s.blockRead }, { op: "Write", value: s.blockWrite }] },
    },
  };
}

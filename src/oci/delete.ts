// delete: a container's cgroups and state go, then the poststop hooks run. Loads little of the
// engine: containerd's shim calls it twice per container.
import type { Store } from "../container/store.ts";
import { UserError } from "../container/errors.ts";
import { executeTeardown, storeSite, teardownPlan } from "../container/lifecycle.ts";
import { liveContainer } from "../container/live.ts";
import type { ContainerPaths, ContainerSpec } from "../container/spec.ts";
import { runHooks } from "./hooks.ts";
import { debug, warn } from "./log.ts";
import { hookState } from "./state.ts";
import { findContainer } from "./found.ts";

/** delete: removes a stopped (or, with force, any) container; the poststop hooks follow. */
export async function deleteContainer(store: Store, id: string, force: boolean): Promise<void> {
  const c = findContainer(store, id);
  if ((c.status === "running" || c.status === "paused") && !force) throw new UserError(`cannot delete container ${id} that is not stopped: ${c.status}`);
  // As box rm -f: thawed first if paused, SIGKILL to the init, waited for (loaded only then: it
  // brings box's network and volume modules).
  if (c.pid !== undefined) await (await import("../container/control.ts")).killContainer(store, liveContainer(store, c.spec));
  removeOciContainer(store, c.spec, c.paths);
  debug(`delete: ${id} removed (its cgroups, its state)`);
  await runPoststop(c.spec);
}

/** The spec: a failing poststop hook is logged, and the others still run. */
export async function runPoststop(spec: ContainerSpec): Promise<void> {
  for (const hook of spec.runtime?.hooks.poststop ?? []) {
    await runHooks("poststop", [hook], hookState(spec, "stopped", undefined)).catch((e: Error) => warn(e.message));
  }
}

/**
 * box's removal of a container (src/container/create.ts's removeContainer) without its network
 * and volume steps: a bundle's container has neither (its network is the host's or a namespace it
 * names), and their modules are most of what a delete would load.
 */
export function removeOciContainer(store: Store, spec: ContainerSpec, paths: ContainerPaths): void {
  executeTeardown(teardownPlan(spec, storeSite(store, spec.id, paths), { end: false, remove: true }), undefined, { killLeftovers: true });
}

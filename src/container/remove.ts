// `box rm`: removes a container that has exited, or with force kills it first.
import { removeContainer } from "./create.ts";
import { UserError } from "./errors.ts";
import type { Store } from "./store.ts";
import { liveContainer } from "./live.ts";
import { killContainer } from "./control.ts";
import type { ContainerSpec } from "./spec.ts";
import { withContainerLock } from "./lock.ts";
import { recordContainerEvent } from "./events.ts";

/** `volumes` (rm -v): its anonymous volumes go too. */
export function removeStoredContainer(store: Store, found: ContainerSpec, force: boolean, volumes = false): Promise<void> {
  return withContainerLock(store, found, async (spec) => {
    const c = liveContainer(store, spec);
    if (c.pid !== undefined) {
      if (!force) throw new UserError(`cannot remove container ${spec.name}: it is running (stop it first, or use -f)`);
      await killContainer(store, c);
    }
    removeContainer(store, spec, c.paths, volumes);
    recordContainerEvent(store.root, spec, "destroy");
  });
}

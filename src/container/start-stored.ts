// `box start`: a stored container (created, or exited) runs again. Apart from start.ts, which
// `box run` loads at its very start, so that this module's imports do not slow every run.
import { mkdirs, unlink } from "../sys/fs.ts";
import { isRootless } from "../sys/process.ts";
import { UserError } from "./errors.ts";
import { join } from "../path.ts";
import { lockContainer } from "./lock.ts";
import { liveContainer } from "./live.ts";
import { STOP_REQUESTED } from "./restart.ts";
import { launchInit, pidNamespaceOf, runAttached, runDetached } from "./start.ts";
import { bridgeNetwork, endpointsOf, type ContainerSpec } from "./spec.ts";
import type { Store } from "./store.ts";
import { ensureEndpoint } from "../net/network.ts";

/**
 * `box start`: a container that was created, or has exited, runs again (its upper layer, logs
 * and cgroups kept). Detached it returns once the payload runs; with `attach` it returns the
 * exit code. A container that is running already is left as it is. The lock is held until the
 * init has reported, so that two starts at once start one init.
 */
export async function startStored(store: Store, found: ContainerSpec, attach: boolean): Promise<number> {
  const { spec, unlock } = lockContainer(store, found);
  try {
    const c = liveContainer(store, spec);
    if (c.pid !== undefined) return 0;
    // Its cgroups, network and user namespace were made for one kind of box: it starts as that.
    if ((spec.rootless === true) !== isRootless()) {
      throw new UserError(`container ${spec.name} was created ${spec.rootless ? "rootless" : "by root"}: start it ${spec.rootless ? "as the user who created it" : "as root"}`);
    }
    try {
      unlink(join(c.paths.runDir, STOP_REQUESTED));
    } catch {}
    // Its creator was killed between the network's claims and the record naming them.
    // (One taken off every network by box network disconnect has an empty list of connected ones.)
    if (!spec.endpoint && !spec.connected && bridgeNetwork(spec) !== undefined) throw new UserError(`container ${spec.name} was interrupted while it was being created: remove it (box rm ${spec.name})`);
    mkdirs(c.paths.runDir, 0o700);
    for (const e of endpointsOf(spec)) ensureEndpoint(store, spec.id, e);
    const init = launchInit(store, undefined, pidNamespaceOf(store, spec));
    if (!attach) {
      await runDetached(init, store, spec, c.paths);
      return 0;
    }
    return await runAttached(init, store, spec, c.paths, { started: unlock });
  } finally {
    unlock();
  }
}

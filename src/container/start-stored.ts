// `box start`: a stored container (created, or exited) runs again. Apart from start.ts, which
// `box run` loads at its very start, so that this module's imports do not slow every run.
import { mkdirs, unlink, writeFileAtomic } from "../sys/fs.ts";
import { isRootless } from "../sys/process.ts";
import { UserError } from "./errors.ts";
import { join } from "../path.ts";
import { lockContainer } from "./lock.ts";
import { liveContainer } from "./live.ts";
import { STOP_REQUESTED } from "./restart.ts";
import { pidNamespaceOf, runAttached, runDetached } from "./start.ts";
import { launchInit } from "./launch.ts";
import { bridgeNetwork, endpointsOf, type ContainerPaths, type ContainerSpec } from "./spec.ts";
import { KEPT_STATE, type Store } from "./store.ts";
import { ensureEndpoint } from "../net/network.ts";
import { ensureContainerCgroups } from "./create.ts";

/**
 * The init's pid as a plain file in the run dir, for a service manager that follows `box start`
 * (the PIDFile= of `box generate systemd`'s units): the init is the container's watcher.
 */
export const INIT_PID_FILE = "init.pid";

function writeInitPidFile(paths: ContainerPaths, pid: number): void {
  writeFileAtomic(join(paths.runDir, INIT_PID_FILE), `${pid}\n`, 0o644);
}

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
    if (c.pid !== undefined) {
      writeInitPidFile(c.paths, c.pid);
      return 0;
    }
    // Its cgroups, network and user namespace were made for one kind of box: it starts as that.
    if ((spec.rootless === true) !== isRootless()) {
      throw new UserError(`container ${spec.name} was created ${spec.rootless ? "rootless" : "by root"}: start it ${spec.rootless ? "as the user who created it" : "as root"}`);
    }
    // Its creator was killed between the network's claims and the record naming them.
    // (One taken off every network by box network disconnect has an empty list of connected ones.)
    if (!spec.endpoint && !spec.connected && bridgeNetwork(spec) !== undefined) throw new UserError(`container ${spec.name} was interrupted while it was being created: remove it (box rm ${spec.name})`);
    // What a reboot takes and the store still names: the run dir, the cgroups, the network's
    // bridge and rules (the address lease and port claims are the store's, kept).
    mkdirs(c.paths.runDir, 0o700);
    if (!spec.rootless) ensureContainerCgroups(store, spec, c.paths.cgroups);
    for (const e of endpointsOf(spec)) ensureEndpoint(store, spec.id, e);
    // A stop asked for before ends nothing more; and it runs from now on: no state for after a
    // reboot until its next end (see KEPT_STATE).
    for (const file of [STOP_REQUESTED, KEPT_STATE]) {
      try {
        unlink(join(c.paths.dir, file));
      } catch {}
    }
    const init = launchInit(store, undefined, pidNamespaceOf(store, spec));
    if (!attach) {
      await runDetached(init, store, spec, c.paths);
      writeInitPidFile(c.paths, init.pid);
      return 0;
    }
    return await runAttached(init, store, spec, c.paths, { started: unlock });
  } finally {
    unlock();
  }
}

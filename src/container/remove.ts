// `box rm`: removes a container that has exited, or with force kills it first.
import { readFile } from "../sys/fs.ts";
import { SIGKILL } from "../sys/constants.ts";
import { kill } from "../sys/process.ts";
import { removeContainer } from "./create.ts";
import { UserError } from "./errors.ts";
import type { Store } from "./store.ts";
import { liveContainer } from "./live.ts";
import { setFrozen } from "../cgroup/freezer.ts";
import type { ContainerSpec } from "./spec.ts";

async function waitGone(pid: number): Promise<void> {
  for (let i = 0; i < 500; i++) {
    try {
      readFile(`/proc/${pid}/stat`);
    } catch {
      return;
    }
    await Bun.sleep(10);
  }
  throw new UserError(`container init ${pid} did not exit after SIGKILL`);
}

export async function removeStoredContainer(store: Store, spec: ContainerSpec, force: boolean): Promise<void> {
  const { paths, pid, state } = liveContainer(store, spec);
  if (pid !== undefined) {
    if (!force) throw new UserError(`cannot remove container ${spec.name}: it is running (stop it first, or use -f)`);
    // A frozen process cannot die (v1): thaw first, as Docker does.
    if (state.status === "paused") await setFrozen(paths.cgroups, false);
    // The init's death ends the pid namespace, and with it every process of the container.
    kill(pid, SIGKILL);
    await waitGone(pid);
  }
  removeContainer(store, spec, paths);
}

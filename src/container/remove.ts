// `box rm`: removes a container that has exited, or with force kills it first.
import { readFileSync } from "node:fs";
import { containerCgroupDirs } from "../cgroup/cgroups.ts";
import { SIGKILL } from "../sys/constants.ts";
import { kill } from "../sys/process.ts";
import { removeContainer } from "./create.ts";
import { UserError } from "./errors.ts";
import { containerPaths, readState, type Store } from "./store.ts";
import type { ContainerSpec } from "./spec.ts";

/** The pid recorded in the state is trusted only if it is still an init of this store. */
function runningInit(store: Store, pid: number | undefined): number | undefined {
  if (!pid) return undefined;
  try {
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8");
    const environ = readFileSync(`/proc/${pid}/environ`, "utf8").split("\0");
    if (cmdline.includes("__init") && environ.includes(`BOX_ROOT=${store.root}`)) return pid;
  } catch {}
  return undefined;
}

async function waitGone(pid: number): Promise<void> {
  for (let i = 0; i < 500; i++) {
    try {
      readFileSync(`/proc/${pid}/stat`);
    } catch {
      return;
    }
    await Bun.sleep(10);
  }
  throw new UserError(`container init ${pid} did not exit after SIGKILL`);
}

export async function removeStoredContainer(store: Store, spec: ContainerSpec, force: boolean): Promise<void> {
  const paths = containerPaths(store, spec.id, containerCgroupDirs(spec.id));
  const pid = runningInit(store, readState(paths)?.pid);
  if (pid !== undefined) {
    if (!force) throw new UserError(`cannot remove container ${spec.name}: it is running (stop it first, or use -f)`);
    // The init's death ends the pid namespace, and with it every process of the container.
    kill(pid, SIGKILL);
    await waitGone(pid);
  }
  removeContainer(store, spec, paths);
}

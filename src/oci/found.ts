// A box oci container as the runtime spec sees it: found by id in the store, its status derived
// from its process and its start FIFO, as runc's. All that state and list load.
import { exists } from "../sys/fs.ts";
import { join } from "../path.ts";
import { NoSuchContainer, UserError } from "../container/errors.ts";
import { containerConfig, containerPaths, layout, readState, type Store } from "../container/store.ts";
import { containerProcess } from "../container/live.ts";
import { containerCgroupDirs } from "../cgroup/paths.ts";
import { lockContainer } from "../container/lock.ts";
import type { ContainerPaths, ContainerSpec } from "../container/spec.ts";
import { OCI_VERSION, type OciState, type OciStatus } from "./state.ts";

/** runc's rule for ids, which also keeps them usable as file names. */
const OCI_ID = /^[a-zA-Z0-9][a-zA-Z0-9_+.-]{0,127}$/;

export function validateId(id: string | undefined): string {
  if (!id) throw new UserError("a container id is required");
  if (!OCI_ID.test(id)) throw new UserError(`invalid container id "${id}": [a-zA-Z0-9][a-zA-Z0-9_+.-], up to 128 characters`);
  return id;
}

/** In the container's run dir; its existence is what "created" means (as runc's exec.fifo). */
export const START_FIFO = "exec.fifo";

export interface Found {
  spec: ContainerSpec;
  paths: ContainerPaths;
  pid?: number;
  /** The process's start time, which tells it from a process that got its pid later. */
  pidStart?: number;
  status: OciStatus;
}

export function containerExists(store: Store, id: string): boolean {
  return exists(join(store.root, layout.container(id)));
}

/** `known`: its config, read already (under its lock). */
export function findContainer(store: Store, id: string, known?: ContainerSpec): Found {
  let spec: ContainerSpec;
  try {
    spec = known ?? containerConfig(store, id);
  } catch {
    throw new UserError(`container ${id} does not exist`);
  }
  const paths = containerPaths(store, id, containerCgroupDirs(spec));
  const state = readState(paths);
  const pid = containerProcess(store, spec, state);
  let status: OciStatus = "stopped";
  if (pid !== undefined) {
    if (exists(join(paths.runDir, START_FIFO))) status = state?.status === "created" ? "created" : "creating";
    else status = state?.status === "paused" ? "paused" : "running";
  }
  return { spec, paths, pid, pidStart: state?.pidStart, status };
}

export function stateOf(store: Store, id: string): OciState & { rootfs: string; created: string; owner: string } {
  const c = findContainer(store, id);
  const runtime = c.spec.runtime;
  return {
    ociVersion: OCI_VERSION,
    id,
    pid: c.status === "stopped" ? 0 : c.pid!,
    status: c.status,
    bundle: runtime?.bundle ?? "",
    rootfs: c.spec.rootfs.kind === "dir" ? c.spec.rootfs.path : "",
    created: c.spec.created,
    owner: "",
    ...(Object.keys(c.spec.annotations ?? {}).length ? { annotations: c.spec.annotations } : {}),
  };
}

/** The container as it is once its lock is held (start, pause: what they check is what they change), and the release. */
export function lockedContainer(store: Store, id: string): { c: Found; unlock: () => void } {
  let locked: ReturnType<typeof lockContainer>;
  try {
    locked = lockContainer(store, { id, name: id });
  } catch (e) {
    if (e instanceof NoSuchContainer) throw new UserError(`container ${id} does not exist`);
    throw e;
  }
  try {
    return { c: findContainer(store, id, locked.spec), unlock: locked.unlock };
  } catch (e) {
    locked.unlock();
    throw e;
  }
}

/** `c` if it has not stopped, else "container not running". */
export function running(c: Found): Found {
  if (c.status === "stopped") throw new UserError("container not running");
  return c;
}

// One box process at a time changes a container: an flock on its directory, held from reading
// the container's state to writing it. Two `box rm -f` or `box start` of one container at once
// run one after the other, and the second sees what the first did.
import { close, exists, isErrno, lockExclusive, open } from "../sys/fs.ts";
import { O_DIRECTORY, O_RDONLY } from "../sys/constants.ts";
import { join } from "../path.ts";
import { Errno } from "../sys/errors.ts";
import { NoSuchContainer } from "./errors.ts";
import { layout, readConfig, type Store } from "./store.ts";
import type { ContainerSpec } from "./spec.ts";

/** Takes the container's lock; returns its config as it is once the lock is held, and the release. */
export function lockContainer(store: Store, spec: Pick<ContainerSpec, "id" | "name">): { spec: ContainerSpec; unlock: () => void } {
  const dir = join(store.root, layout.container(spec.id));
  let fd: number;
  try {
    fd = open(dir, O_RDONLY | O_DIRECTORY);
  } catch (e) {
    if (isErrno(e, Errno.ENOENT)) throw new NoSuchContainer(spec.name);
    throw e;
  }
  let held = true;
  const unlock = () => {
    if (held) close(fd);
    held = false;
  };
  try {
    lockExclusive(fd, dir);
    // Removed while this process waited for the lock.
    if (!exists(join(dir, "config.json"))) throw new NoSuchContainer(spec.name);
    return { spec: readConfig(dir), unlock };
  } catch (e) {
    unlock();
    throw e;
  }
}

/** Runs `act` holding the container's lock, with its config as it is once the lock is held. */
export async function withContainerLock<T>(store: Store, found: ContainerSpec, act: (spec: ContainerSpec) => Promise<T>): Promise<T> {
  const { spec, unlock } = lockContainer(store, found);
  try {
    return await act(spec);
  } finally {
    unlock();
  }
}

// Where containers live on disk, and the small atomic operations on that state.
import { close, exists, fstat, isErrno, lockExclusive, mkdirs, open, readFile, readdir, stat, unlink, writeFileAtomic, writeFileExclusive } from "../sys/fs.ts";
import { Errno } from "../sys/errors.ts";
import { O_CREAT, O_DIRECTORY, O_RDONLY } from "../sys/constants.ts";
import { join } from "../path.ts";
import { UserError } from "./errors.ts";
import { randomHex } from "../random.ts";
import { isRootless } from "../sys/process.ts";
import type { ContainerPaths, ContainerSpec } from "./spec.ts";

/** The two movable roots: persistent state and runtime state. */
export interface Store {
  root: string;
  runroot: string;
}

/** root's store is the machine's; another user's is in its home, as Podman's rootless one. */
export function defaultStore(env = process.env): Store {
  if (!isRootless()) return { root: env.BOX_ROOT || "/var/lib/box", runroot: env.BOX_RUNROOT || "/run/box" };
  // "" when there is nowhere to put it: the CLI says so, unless --root names a place.
  const data = env.XDG_DATA_HOME || (env.HOME ? `${env.HOME}/.local/share` : "");
  const root = env.BOX_ROOT || (data && `${data}/box`);
  return { root, runroot: env.BOX_RUNROOT || (env.XDG_RUNTIME_DIR ? `${env.XDG_RUNTIME_DIR}/box` : root && `${root}/run`) };
}

/**
 * Whether the store at `root` certainly no longer exists (deleted by hand): only ENOENT or
 * ENOTDIR say so; any other answer (EACCES, EIO, ...) keeps what is its.
 */
export function storeGone(root: string): boolean {
  try {
    stat(root);
    return false;
  } catch (e) {
    return isErrno(e, Errno.ENOENT) || isErrno(e, Errno.ENOTDIR);
  }
}

export function newId(): string {
  return randomHex(32);
}

export function shortId(id: string): string {
  return id.slice(0, 12);
}

// Docker's rule; the length cap keeps a name usable as a file name.
const NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{1,127}$/;

/** Names box gives containers without --name: made of the id, so unique without a claim. */
const GENERATED_NAME = /^box_[0-9a-f]{12}$/;

export function generatedName(id: string): string {
  return `box_${shortId(id)}`;
}

export function isGeneratedName(name: string): boolean {
  return GENERATED_NAME.test(name);
}

export function validateName(name: string): string {
  if (!NAME.test(name)) {
    throw new UserError(`invalid container name "${name}": only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed, 2 to 128 characters`);
  }
  if (isGeneratedName(name)) throw new UserError(`invalid container name "${name}": box_ and 12 hex digits name containers started without --name`);
  return name;
}

/** Relative paths inside the roots, so the init can reach them through directory fds after pivot_root. */
export const layout = {
  containers: "containers",
  names: "names",
  container: (id: string) => join("containers", id),
  name: (name: string) => join("names", name),
  /** Held by run --replace: see withNameLock. */
  nameLocks: "name-locks",
};

export function containerPaths(store: Store, id: string, cgroups: string[]): ContainerPaths {
  return {
    dir: join(store.root, layout.container(id)),
    runDir: join(store.runroot, layout.container(id)),
    cgroups,
  };
}

/**
 * Reserves a name for a container; O_EXCL makes two runs with one name race-free. A generated
 * name needs no file: it is the id's (and creating a file costs ~0.4 ms of every `box run`).
 */
export function claimName(store: Store, name: string, id: string): void {
  if (isGeneratedName(name) && name === generatedName(id)) return;
  mkdirs(join(store.root, layout.names), 0o700);
  try {
    writeFileExclusive(join(store.root, layout.name(name)), id, 0o600);
  } catch (e) {
    if (isErrno(e, Errno.EEXIST)) {
      let owner = "";
      try {
        owner = readFile(join(store.root, layout.name(name)));
      } catch {}
      throw new UserError(`the container name "${name}" is already in use by container ${shortId(owner)}`);
    }
    throw e;
  }
}

export function writeConfig(paths: Pick<ContainerPaths, "dir">, spec: ContainerSpec): void {
  writeFileAtomic(join(paths.dir, "config.json"), JSON.stringify(spec, null, 2), 0o600);
}

export function readConfig(dir: string): ContainerSpec {
  return JSON.parse(readFile(join(dir, "config.json"))) as ContainerSpec;
}

/** The config of container `id` of the store. */
export function containerConfig(store: Store, id: string): ContainerSpec {
  return readConfig(join(store.root, layout.container(id)));
}

export type ContainerStatus = "created" | "running" | "paused" | "restarting" | "exited";

export interface ContainerState {
  status: ContainerStatus;
  /** Host pid of the init (box in init mode). */
  pid?: number;
  /** The init's start time (clock ticks since boot, /proc/PID/stat field 22): a reused pid has another. */
  pidStart?: number;
  exitCode?: number;
  /** the kernel's OOM killer took a process of the container */
  oomKilled?: boolean;
  startedAt?: string;
  finishedAt?: string;
  /** Times the init started the payload again (--restart). */
  restartCount?: number;
}

export function readState(paths: Pick<ContainerPaths, "runDir">): ContainerState | undefined {
  try {
    return JSON.parse(readFile(join(paths.runDir, "state.json"))) as ContainerState;
  } catch {
    return undefined;
  }
}

export function writeState(paths: Pick<ContainerPaths, "runDir">, state: ContainerState): void {
  writeFileAtomic(join(paths.runDir, "state.json"), JSON.stringify(state), 0o600);
}

/**
 * The state a reboot keeps, in the store (the run root is a tmpfs): "created" for a container
 * `box create` made, or the last end (its code and times). None while the container runs, so
 * that a container with neither its run dir nor this file was running when the machine went down.
 */
export const KEPT_STATE = "last-state.json";

export function keepState(paths: Pick<ContainerPaths, "dir">, state: ContainerState): void {
  writeFileAtomic(join(paths.dir, KEPT_STATE), JSON.stringify(state), 0o600);
}

/**
 * The state of a container whose run dir has no state.json: "created" while the run dir is
 * there (made, not started yet); after a reboot took the run root, the kept one, or, with none,
 * "running" with Docker's 255 for a container whose process is gone at the daemon's restore.
 */
export function stateWithoutRunDir(paths: Pick<ContainerPaths, "dir" | "runDir">): ContainerState {
  if (exists(paths.runDir)) return { status: "created" };
  try {
    const kept = JSON.parse(readFile(join(paths.dir, KEPT_STATE))) as ContainerState;
    if (kept.status === "created" || kept.status === "exited") return kept;
  } catch {}
  return { status: "running", exitCode: LOST_EXIT };
}

/** Docker's exit code for a container that was running when the machine went down. */
export const LOST_EXIT = 255;

/**
 * Takes the lock of the container name `name` (an flock on a file of its own, made for the time
 * and removed by its holder); returns its release. `run --replace` holds it from the removal of
 * the old container to the claim of the new one's name, so that several at once replace one after
 * the other. A waiter whose file its holder removed meanwhile takes the new one.
 */
export function lockName(store: Store, name: string): () => void {
  const dir = join(store.root, layout.nameLocks);
  const path = join(dir, name);
  mkdirs(dir, 0o700);
  for (;;) {
    const fd = open(path, O_RDONLY | O_CREAT, 0o600);
    try {
      lockExclusive(fd, path);
    } catch (e) {
      close(fd);
      throw e;
    }
    if (sameFile(fd, path)) {
      return () => {
        unlink(path);
        close(fd);
      };
    }
    close(fd);
  }
}

/** Whether `path` is still the file open at `fd` (not removed, nor made again, meanwhile). */
function sameFile(fd: number, path: string): boolean {
  try {
    const a = fstat(fd);
    const b = stat(path);
    return a.ino === b.ino && a.dev === b.dev;
  } catch (e) {
    if (isErrno(e, Errno.ENOENT)) return false;
    throw e;
  }
}

/** Directory fds survive pivot_root; a path through /proc/self/fd reaches the host's dir from inside. */
export function openDir(path: string): number {
  return open(path, O_RDONLY | O_DIRECTORY);
}

export function fdPath(fd: number): string {
  return `/proc/self/fd/${fd}`;
}

export function listContainerIds(store: Store): string[] {
  try {
    return readdir(join(store.root, layout.containers));
  } catch {
    return [];
  }
}

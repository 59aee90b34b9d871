// Where containers live on disk, and the small atomic operations on that state.
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync, openSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { UserError } from "./errors.ts";
import { randomHex } from "../random.ts";
import type { ContainerPaths, ContainerSpec } from "./spec.ts";

/** The two movable roots: persistent state and runtime state. */
export interface Store {
  root: string;
  runroot: string;
}

export function defaultStore(env = process.env): Store {
  return { root: env.BOX_ROOT || "/var/lib/box", runroot: env.BOX_RUNROOT || "/run/box" };
}

export function newId(): string {
  return randomHex(32);
}

export function shortId(id: string): string {
  return id.slice(0, 12);
}

// Docker's rule; the length cap keeps a name usable as a file name.
const NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{1,127}$/;

export function validateName(name: string): string {
  if (!NAME.test(name)) {
    throw new UserError(`invalid container name "${name}": only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed, 2 to 128 characters`);
  }
  return name;
}

/** Relative paths inside the roots, so the init can reach them through directory fds after pivot_root. */
export const layout = {
  containers: "containers",
  names: "names",
  container: (id: string) => join("containers", id),
  name: (name: string) => join("names", name),
};

export function containerPaths(store: Store, id: string, cgroups: string[]): ContainerPaths {
  return {
    dir: join(store.root, layout.container(id)),
    runDir: join(store.runroot, layout.container(id)),
    cgroups,
  };
}

/** Reserves a name for a container; O_EXCL makes two runs with one name race-free. */
export function claimName(store: Store, name: string, id: string): void {
  mkdirSync(join(store.root, layout.names), { recursive: true, mode: 0o700 });
  try {
    writeFileSync(join(store.root, layout.name(name)), id, { flag: "wx", mode: 0o600 });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "EEXIST") {
      let owner = "";
      try {
        owner = readFileSync(join(store.root, layout.name(name)), "utf8");
      } catch {}
      throw new UserError(`the container name "${name}" is already in use by container ${shortId(owner)}`);
    }
    throw e;
  }
}

/** Writes a file so readers see the old or the new content, never a torn one. */
function writeAtomic(path: string, data: string): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, data, { mode: 0o600 });
  renameSync(tmp, path);
}

export function writeConfig(paths: ContainerPaths, spec: ContainerSpec): void {
  writeAtomic(join(paths.dir, "config.json"), JSON.stringify(spec, null, 2));
}

export function readConfig(dir: string): ContainerSpec {
  return JSON.parse(readFileSync(join(dir, "config.json"), "utf8")) as ContainerSpec;
}

export type ContainerStatus = "created" | "running" | "paused" | "exited";

export interface ContainerState {
  status: ContainerStatus;
  /** Host pid of the init (box in init mode). */
  pid?: number;
  exitCode?: number;
  /** the kernel's OOM killer took a process of the container */
  oomKilled?: boolean;
  startedAt?: string;
  finishedAt?: string;
}

export function readState(paths: Pick<ContainerPaths, "runDir">): ContainerState | undefined {
  try {
    return JSON.parse(readFileSync(join(paths.runDir, "state.json"), "utf8")) as ContainerState;
  } catch {
    return undefined;
  }
}

export function writeState(paths: Pick<ContainerPaths, "runDir">, state: ContainerState): void {
  writeAtomic(join(paths.runDir, "state.json"), JSON.stringify(state));
}

/** Directory fds survive pivot_root; a path through /proc/self/fd reaches the host's dir from inside. */
export function openDir(path: string): number {
  return openSync(path, "r");
}

export function fdPath(fd: number): string {
  return `/proc/self/fd/${fd}`;
}

export function listContainerIds(store: Store): string[] {
  try {
    return readdirSync(join(store.root, layout.containers));
  } catch {
    return [];
  }
}

/** Removes a container's files given its bases (real paths, or /proc/self/fd paths from inside). */
export function removeContainerFiles(bases: Store, id: string, name: string): void {
  rmSync(join(bases.runroot, layout.container(id)), { recursive: true, force: true });
  rmSync(join(bases.root, layout.container(id)), { recursive: true, force: true });
  try {
    if (readFileSync(join(bases.root, layout.name(name)), "utf8") === id) rmSync(join(bases.root, layout.name(name)));
  } catch {}
}

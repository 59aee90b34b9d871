// What a container's process is, looked up inside the container once its rootfs is built: its
// user, environment and executable, the namespaces it enters last and the cgroupfs mounted there,
// and the container's UTS names. Shared by box's init and by box oci's create, which builds the
// container itself (src/oci/direct.ts).
import { close, open, readFileInRoot, statInRoot } from "../sys/fs.ts";
import { CLONE_NEWCGROUP, CLONE_NEWTIME, O_DIRECTORY, O_PATH, O_RDONLY } from "../sys/constants.ts";
import { setdomainname, sethostname } from "../sys/mount.ts";
import type { SpawnOptions } from "../sys/spawn.ts";
import type { CgroupLayout } from "../cgroup/detect.ts";
import { cgroupfsReadOnly, wantsCgroupfs } from "../rootfs/setup.ts";
import { prepareCgroupfs } from "../rootfs/cgroupfs.ts";
import { forContainer, resolveUser } from "./user.ts";
import { resolveCommand } from "./command.ts";
import { containerEnv, envValue } from "./env.ts";
import type { ContainerSpec } from "./spec.ts";

/**
 * passwd and group files past this are refused: real ones are a few KiB (and they are read as box
 * exec reads them: confined to the root, a regular file only; an image's /etc/passwd may be a
 * link to /dev/zero, a FIFO, or lead through /proc/self/fd to the host).
 */
const CONTAINER_FILE_LIMIT = 4 << 20;

export interface Payload {
  user: ReturnType<typeof forContainer>;
  env: string[];
  /** The executable, found in the container's PATH. */
  exe: string;
}

/**
 * Looks the process up in the tree at `rootPath` (the container's root), every path resolved
 * inside it; `proc` is a procfs that shows this process's descriptors.
 */
export function resolvePayload(spec: ContainerSpec, rootPath: string, proc: string): Payload {
  const root = open(rootPath, O_PATH | O_DIRECTORY);
  try {
    const user = forContainer(spec, resolveUser(spec.user, (path) => readFileInRoot(root, path, CONTAINER_FILE_LIMIT, proc), spec.groupAdd), spec.user);
    // A bundle's environment is exactly its process.env, and its groups its additionalGids.
    if (spec.runtime) user.groups = spec.runtime.groups;
    const env = spec.runtime ? spec.env : containerEnv(spec, spec.tty, user.home);
    const exe = resolveCommand(spec.command[0]!, envValue(env, "PATH"), spec.workdir, (path) => statInRoot(root, path));
    return { user, env, exe };
  } finally {
    close(root);
  }
}

/**
 * A new cgroup namespace (a bundle's only if it asks, or mounts cgroupfs: box never shows a
 * bundle the host's whole hierarchy; box run's unless --cgroupns host, which shows it read-only
 * as Docker's does) and a time namespace where the kernel has them (a bundle's if asked).
 */
export function payloadNamespaces(spec: ContainerSpec): number {
  const cgroup = spec.runtime ? spec.runtime.cgroupNamespace || wantsCgroupfs(spec) : !spec.hostCgroupns;
  const time = (!spec.runtime || spec.runtime.timeNamespace) && timeNamespaceSupported();
  return (cgroup ? CLONE_NEWCGROUP : 0) | (time ? CLONE_NEWTIME : 0);
}

/**
 * The cgroupfs the payload's spawn mounts in its cgroup namespace; call after pivot_root. None
 * rootless: no cgroup of its own to show, and a user namespace may not mount v1 hierarchies.
 */
export function payloadCgroupfs(spec: ContainerSpec, layout: CgroupLayout): NonNullable<SpawnOptions["mounts"]> {
  return wantsCgroupfs(spec) ? prepareCgroupfs(layout, cgroupfsReadOnly(spec)) : [];
}

/**
 * The container's host and domain names, in the UTS namespace this thread is in. A bundle
 * without a hostname keeps the one its namespace has (its own, or one joined by path).
 */
export function nameContainer(spec: ContainerSpec): void {
  if (spec.namespaces?.uts !== "host" && (!spec.runtime || spec.hostname)) sethostname(spec.hostname);
  if (spec.domainname) setdomainname(spec.domainname);
}

function timeNamespaceSupported(): boolean {
  try {
    close(open("/proc/self/ns/time", O_RDONLY));
    return true;
  } catch {
    return false;
  }
}

// Creates a container on disk from a validated spec: name, state dirs, config, cgroups.
// Undoes every step if a later one fails.
import { close, exists, holdLock, isErrno, mkdir, mkdirs, readFile } from "../sys/fs.ts";
import { Errno } from "../sys/errors.ts";
import { dirname } from "../path.ts";
import { UserError } from "./errors.ts";
import { leaseIdRange, ownByContainerRoot } from "../security/userns.ts";
import { claimName, containerConfig, containerPaths, writeConfig, type Store } from "./store.ts";
import { executeTeardown, storeSite, teardownPlan, type BoxSteps, type Removed } from "./lifecycle.ts";
import { removeCgroups } from "../cgroup/cgroups.ts";
import { createContainerCgroups } from "../cgroup/create.ts";
import { containerCgroupDirs } from "../cgroup/paths.ts";
import { recordCgroupOwner } from "../cgroup/owners.ts";
import { applyLimits } from "../cgroup/limits.ts";
import { dockerDeviceRules } from "../cgroup/devices.ts";
import { bridgeNetwork, endpointsOf, sharedNetwork, type ContainerPaths, type ContainerSpec } from "./spec.ts";
import { attachContainer, releaseClaims, releaseEndpoint, withdrawPorts } from "../net/network.ts";
import { recordContainerEvent } from "./events.ts";
import { prepareVolumes, removeAnonymousVolumes } from "./volumes.ts";

/** Docker's: the host's name with its network, the other container's with container:NAME, else the short id. */
export function defaultHostname(spec: Pick<ContainerSpec, "id" | "network">, store: Store): string {
  if (spec.network === "host") return readFile("/proc/sys/kernel/hostname").trim();
  const other = sharedNetwork(spec.network);
  if (other !== undefined) return containerConfig(store, other).hostname;
  return spec.id.slice(0, 12);
}

/** The devices cgroup's rules: a bundle's, else Docker's with --device's (none for --privileged: every device). */
function deviceRules(spec: ContainerSpec): string[] | undefined {
  if (spec.runtime) return spec.runtime.deviceRules;
  return spec.privileged ? undefined : dockerDeviceRules([...(spec.devices ?? []).filter((d) => d.type !== "p").map((d) => `${d.type} ${d.major}:${d.minor} ${d.access}`), ...(spec.deviceCgroupRules ?? [])]);
}

/**
 * The record comes first: config.json is written right after the container's directory, under
 * the container's lock. So whatever a kill at any moment leaves half made (a name, cgroups, an
 * address, ports, rules) belongs to a container that `ps -a`, `rm` and `prune` see. A directory
 * with no record at all is a kill before the first write: `prune` removes it once it can take its
 * lock. The lock comes back held: the caller releases it once the container has its state (box
 * run: "running", after the plan), so that no `rm` or `prune` takes a container that is starting
 * for a stopped one.
 */
export function createContainer(store: Store, spec: ContainerSpec): { paths: ContainerPaths; unlock: () => void } {
  let paths = containerPaths(store, spec.id, []);
  mkdirs(dirname(paths.dir), 0o700);
  try {
    mkdir(paths.dir, 0o700);
  } catch (e) {
    // An id chosen by the caller (box oci): another container has it, maybe being made right now.
    if (isErrno(e, Errno.EEXIST)) throw new UserError(`container with id ${spec.id} already exists`);
    throw e;
  }
  const lock = holdLock(paths.dir);
  try {
    // The lease is a file of the directory (it goes with it), and its range part of the record.
    if (spec.userns?.mode === "auto") leaseIdRange(store, paths.dir, spec.userns);
    prepareVolumes(store, spec);
    writeConfig(paths, spec);
    claimName(store, spec.name, spec.id);
    // Only the directory: the init stages the rootfs mount point and the /etc files on a tmpfs
    // over it, in its own mount namespace (file creation on the host's disk costs ~0.7 ms each).
    mkdirs(paths.runDir, 0o700);
    if (spec.rootfs.kind === "image") {
      mkdir(`${paths.dir}/upper`, 0o755);
      mkdir(`${paths.dir}/work`, 0o700);
      // The rootfs's own directory is the upper one's: its owner is the container's root.
      if (spec.userns) ownByContainerRoot(`${paths.dir}/upper`, spec.userns);
    }
    // Rootless: no cgroup of its own (nothing delegated to this user; its limits are refused).
    if (!spec.rootless) {
      const cgroupOwner = recordCgroupOwner(store.root, spec.id, containerCgroupDirs(spec));
      paths = { ...containerPaths(store, spec.id, createContainerCgroups(spec, deviceRules(spec))), cgroupOwner };
    }
    // Before the payload exists: it never runs unlimited.
    applyLimits(spec.resources, paths.cgroups);
    // Its address and published ports belong to it from now until it is removed (as Docker's
    // leases, which outlive a stop); the init connects it at each start.
    const network = bridgeNetwork(spec);
    if (network !== undefined) {
      spec.endpoint = attachContainer(store, spec.id, spec.name, network, spec.ports, spec.endpointOptions);
      writeConfig(paths, spec);
    }
    recordContainerEvent(store.root, spec, "create");
    let held = true;
    const unlock = () => {
      if (held) close(lock);
      held = false;
    };
    return { paths, unlock };
  } catch (e) {
    removeContainer(store, spec, paths, true);
    close(lock);
    throw e;
  }
}

/**
 * Before a start: the container's cgroups, made again (with their owner's record, device rules
 * and limits, as at create) when a reboot took them. One left of several is made whole again.
 */
export function ensureContainerCgroups(store: Store, spec: ContainerSpec, dirs: string[]): void {
  if (dirs.every((d) => exists(d))) return;
  removeCgroups(dirs.filter((d) => exists(d)));
  recordCgroupOwner(store.root, spec.id, dirs);
  applyLimits(spec.resources, createContainerCgroups(spec, deviceRules(spec)));
}

/** How box itself gives back what only it can, at the end of a --rm container or its removal. */
export function storeBoxSteps(store: Store, spec: Pick<ContainerSpec, "id" | "endpoint" | "connected" | "volumes">): BoxSteps {
  return {
    killLeftovers: true,
    rules: () => withdrawPorts(store, spec.id, spec.endpoint),
    endpoints: () => {
      if (spec.endpoint || spec.connected) for (const e of endpointsOf(spec)) releaseEndpoint(store, spec.id, e);
      // On a bridge, but killed before its record named what it holds there.
      else releaseClaims(store, spec.id);
    },
    volumes: () => removeAnonymousVolumes(store, spec),
  };
}

/** `volumes`: its anonymous volumes go too (rm -v, --rm, a failed create). */
export function removeContainer(store: Store, spec: Removed, paths: ContainerPaths, volumes = false): void {
  executeTeardown(teardownPlan(spec, storeSite(store, spec.id, paths), { end: false, remove: true, volumes }), undefined, storeBoxSteps(store, spec));
}

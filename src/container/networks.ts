// `box network connect` and `disconnect`: a container's endpoints on more networks than its
// --network's. The record changes under the container's lock; a running container gets (or
// loses) the veth at once, and its /etc/hosts and its peers' are kept current; a stopped one gets
// its veths at its next start, as every endpoint's.
import { UserError } from "./errors.ts";
import { findContainer } from "./lookup.ts";
import { lockContainer } from "./lock.ts";
import { stateInit } from "./live.ts";
import { containerPaths, writeConfig, type Store } from "./store.ts";
import { endpointsOf, sharedNetwork, type ContainerSpec, type Endpoint, type EndpointOptions } from "./spec.ts";
import { attachContainer, networkMembers, peerHosts, releaseEndpoint } from "../net/network.ts";
import { deviceOf, plugIn, unplug } from "../net/endpoint.ts";
import { forget, learn } from "../net/hosts.ts";

const HOST_MODE = "container cannot be disconnected from host network or connected to host network";

/** Docker's refusals of a container whose network mode has no endpoints of its own. */
function refuseMode(spec: ContainerSpec, network: string): void {
  if (spec.network === "host" || network === "host") throw new UserError(HOST_MODE);
  if (sharedNetwork(spec.network) !== undefined) throw new UserError("container sharing network namespace with another container or host cannot be connected to any other network");
  if (spec.network === "none" || network === "none") throw new UserError("container cannot be connected to multiple networks with one of the networks in private (none) mode");
}

/** The first ethN (from eth0) that none of its endpoints' links is called. */
function freeDevice(spec: ContainerSpec): string {
  const taken = new Set(endpointsOf(spec).map(deviceOf));
  for (let n = 0; n < 100; n++) if (!taken.has(`eth${n}`)) return `eth${n}`;
  throw new UserError(`container ${spec.name} is on 100 networks already`);
}

function withLocked<T>(store: Store, ref: string, act: (spec: ContainerSpec, save: () => void) => T): T {
  const { spec, unlock } = lockContainer(store, findContainer(store, ref));
  try {
    return act(spec, () => writeConfig(containerPaths(store, spec.id, []), spec));
  } finally {
    unlock();
  }
}

/**
 * Gives the container an endpoint on `network`. One left with none (all disconnected) gets it
 * as its network, with the default route; otherwise it is one more link (ethN), without one.
 */
export function connectNetwork(store: Store, ref: string, network: string, options: EndpointOptions): void {
  withLocked(store, ref, (spec, save) => {
    refuseMode(spec, network);
    if (spec.rootless) throw new UserError("rootless: box network connect needs root (a rootless container has no network but its own lo)");
    if (endpointsOf(spec).some((e) => e.network === network)) throw new UserError(`endpoint with name ${spec.name} already exists in network ${network}`);
    const pid = stateInit(store, spec.id);
    // Its init is the 40 KB watcher, which cannot give an address back at the end.
    if (pid !== undefined && spec.remove && !spec.endpoint) throw new UserError(`container ${spec.name} runs with --rm and without a network: it cannot be connected while it runs`);
    const primary = !spec.endpoint;
    const device = freeDevice(spec);
    const e: Endpoint = { ...attachContainer(store, spec.id, spec.name, network, [], options), ...(device === "eth0" ? {} : { device }) };
    const before = { network: spec.network, endpoint: spec.endpoint, connected: spec.connected };
    if (primary) Object.assign(spec, { network, endpoint: e, connected: undefined });
    else spec.connected = [...(spec.connected ?? []), e];
    try {
      save();
      if (pid !== undefined) {
        plugIn(pid, spec.id, e, primary);
        learn(store, spec.id, peerHosts(store, e, spec.id));
      }
    } catch (err) {
      Object.assign(spec, before);
      save();
      releaseEndpoint(store, spec.id, e);
      throw err;
    }
  });
}

/**
 * Takes the container off `network`. When that is its --network's, the next endpoint (if any)
 * takes its place and the default route; one with none left keeps only lo.
 */
export function disconnectNetwork(store: Store, ref: string, network: string): void {
  withLocked(store, ref, (spec, save) => {
    if (spec.network === "host" || network === "host") throw new UserError(HOST_MODE);
    const e = endpointsOf(spec).find((x) => x.network === network);
    if (!e) throw new UserError(`container ${spec.id} is not connected to network ${network}`);
    const [next, ...rest] = endpointsOf(spec).filter((x) => x !== e);
    const primary = e === spec.endpoint;
    // An empty list: taken off every network by hand, not interrupted while it was created.
    if (primary) Object.assign(spec, { network: next?.network ?? spec.network, endpoint: next, connected: rest });
    else spec.connected = spec.connected!.filter((x) => x !== e);
    if (!spec.connected!.length && spec.endpoint) delete spec.connected;
    // The record first: a kill after it leaves an address held a little longer, never one used twice.
    save();
    const pid = stateInit(store, spec.id);
    if (pid !== undefined) {
      unplug(pid, e, primary ? next : undefined);
      forget(store, spec.id, networkMembers(store, network).filter((m) => m.id !== spec.id).map((m) => m.ip));
    }
    releaseEndpoint(store, spec.id, e);
  });
}

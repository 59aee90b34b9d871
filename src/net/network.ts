// Bridge networks of a store and the endpoints of its containers: the bridge with its gateway
// address and its rules (made on first use, remade after a reboot), an address lease and the
// published ports of each container (ipam.ts, ports.ts), their DNAT rules, and the names on
// user-defined networks (hosts.ts).
import { exists, mkdirs, readdir, readdirIfExists, readFile, realPath, removeTree, unlink, withLockFile, writeFile, writeFileAtomic } from "../sys/fs.ts";
import { isRootless } from "../sys/process.ts";
import { withNetlink, NETLINK_ROUTE } from "../sys/netlink.ts";
import { join } from "../path.ts";
import { UserError } from "../container/errors.ts";
import { storeGone, type Store } from "../container/store.ts";
import type { Endpoint, EndpointOptions, PortSpec } from "../container/spec.ts";
import { addAddress, createBridge, deleteLinkIfPresent, findLink, linkIndex, LinkExists, listLinks } from "./links.ts";
import { addRules, deleteRules, deleteRulesWhere, networkRules, publishRules, tableRules } from "./nftables.ts";
import { announce, hostsLine, peers, withdraw } from "./hosts.ts";
import { giveBack, hostMtu, hostRouteTable, leaseAddress, routeClash, type HostRoute, type SubnetRequest } from "./ipam.ts";
import { checkPortsWon, claimPorts, containerTag, isPortRuleOn, portTag, releasePorts } from "./ports.ts";
import { IPV4, overlaps, toInt, toIp } from "./ipv4.ts";
import { recordNetworkEvent } from "../container/events.ts";

/** Docker's name for the default network. */
export const DEFAULT_NETWORK = "bridge";

export interface NetworkConfig {
  name: string;
  bridge: string;
  subnet: string;
  prefix: number;
  gateway: string;
  mtu: number;
  /** Its containers find each other by name (user-defined networks, as Docker's). */
  dns: boolean;
}

const NETWORKS = "networks";
const networkDir = (store: Store, name: string) => join(store.root, NETWORKS, name);
const leaseDir = (store: Store, name: string) => join(networkDir(store, name), "leases");
/** Where the store's port claims are (so no network may be called that). */
const PORTS = "ports";
const portsDir = (store: Store) => join(store.root, NETWORKS, PORTS);

const networkTag = (bridge: string) => `box network ${bridge}`;

/** One box process at a time makes networks, leases, claims ports in a store. */
function withNetworkLock<T>(store: Store, fn: () => T): T {
  return withLockFile(join(store.root, NETWORKS, ".lock"), fn);
}

// ---- networks ----

function readNetwork(store: Store, name: string): NetworkConfig | undefined {
  if (!NETWORK_NAME.test(name) || name === PORTS) return undefined;
  const file = join(networkDir(store, name), "config.json");
  return exists(file) ? (JSON.parse(readFile(file)) as NetworkConfig) : undefined;
}

/**
 * What a new bridge needs besides its name: the gateway address, what the kernel must allow, and
 * the network's rules (those of an earlier bridge of that name, if any, replaced).
 */
function setUpBridge(net: NetworkConfig, index: number): void {
  withNetlink(NETLINK_ROUTE, (nl) => addAddress(nl, index, net.gateway, net.prefix, net.bridge));
  // Published ports reached at 127.0.0.1 are routed to the bridge (as Docker without its proxy).
  writeFile(`/proc/sys/net/ipv4/conf/${net.bridge}/route_localnet`, "1");
  if (readFile("/proc/sys/net/ipv4/ip_forward").trim() !== "1") writeFile("/proc/sys/net/ipv4/ip_forward", "1");
  const tag = networkTag(net.bridge);
  deleteRules(tag);
  addRules(networkRules(net.bridge, net.subnet, net.prefix, tag));
}

/**
 * The network's bridge, made again (with the rest of setUpBridge) when it is missing: a reboot
 * takes links and rules and keeps the store. A bridge that is there has all of it already, so
 * every other container start costs one netlink question.
 */
function ensureBridge(store: Store, net: NetworkConfig): void {
  const link = withNetlink(NETLINK_ROUTE, (nl) => findLink(nl, net.bridge));
  if (link) {
    // Made again by another store meanwhile (this one's was gone, e.g. after a reboot): not ours to use.
    if (link.alias?.startsWith(STORE_ALIAS) && link.alias !== storeAlias(store)) throw new UserError(`network ${net.name}: its bridge ${net.bridge} is another store's now (${link.alias}); remove the network (box network rm ${net.name}) and make it again`);
    return;
  }
  withBridgeNames(() => {
    const made = withNetlink(NETLINK_ROUTE, (nl) => (linkIndex(nl, net.bridge) === undefined ? createBridge(nl, net.bridge, net.mtu, storeAlias(store)) : undefined));
    if (made !== undefined) setUpBridge(net, made);
  });
}

export const NETWORK_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,63}$/;
/** Names that mean a mode, not a network (and the port claims' directory). */
const RESERVED = new Set(["none", "host", "default", DEFAULT_NETWORK, PORTS]);

/** Ranges that are no LAN: "this network", loopback, link-local, multicast, reserved. */
const SPECIAL: Array<[string, number]> = [["0.0.0.0", 8], ["127.0.0.0", 8], ["169.254.0.0", 16], ["224.0.0.0", 4], ["240.0.0.0", 4]];

/** The host's default gateway and nameservers: a bridge subnet holding one would cut the host off it. */
function hostEssentials(routes: HostRoute[]): string[] {
  const gateways = routes.filter((r) => r.prefix === 0).map((r) => toIp(r.gateway));
  let resolvers: string[] = [];
  try {
    resolvers = [...readFile("/etc/resolv.conf").matchAll(/^\s*nameserver\s+(\S+)/gm)].map((m) => m[1]!).filter((ip) => IPV4.test(ip));
  } catch {}
  return [...gateways, ...resolvers];
}

/** What a bridge's subnet must keep clear of on this host: its routes, gateway and nameservers. */
interface HostNetwork {
  routes: HostRoute[];
  essentials: string[];
}

/** Why a requested subnet cannot be a bridge's, or undefined. */
function unusableSubnet(r: SubnetRequest, host: HostNetwork): string | undefined {
  const net = toInt(r.subnet);
  const special = SPECIAL.find(([a, p]) => overlaps(toInt(a), p, net, r.prefix));
  if (special) return `it overlaps ${special[0]}/${special[1]}, which is no network for containers`;
  const clash = routeClash(host.routes, r.subnet, r.prefix);
  if (clash) return `it overlaps a route of the host (${clash})`;
  const essential = host.essentials.find((ip) => overlaps(toInt(ip), 32, net, r.prefix));
  if (essential) return `it holds ${essential}, the host's gateway or nameserver`;
  return undefined;
}

/**
 * Makes a network's bridge: the first free name `boxN`, and the requested subnet or the first
 * 10.(90+N).0.0/16 no host route covers (each bridge's subnet is a host route too).
 */
function makeNetwork(store: Store, name: string, requested: SubnetRequest | undefined, dns: boolean): NetworkConfig {
  return withBridgeNames(() => {
    // A bridge name and subnet a deleted store still holds are free again.
    reclaimDeadStoresLocked();
    return makeBridge(store, name, requested, dns);
  });
}

function makeBridge(store: Store, name: string, requested: SubnetRequest | undefined, dns: boolean): NetworkConfig {
  const routes = hostRouteTable();
  const host = { routes, essentials: hostEssentials(routes) };
  if (requested) {
    const why = unusableSubnet(requested, host);
    if (why) throw new UserError(`subnet ${requested.subnet}/${requested.prefix} cannot be used: ${why}`);
  }
  const mtu = hostMtu(routes);
  for (let n = 0; n < 100; n++) {
    const subnet = requested?.subnet ?? `10.${90 + n}.0.0`;
    const prefix = requested?.prefix ?? 16;
    if (!requested && unusableSubnet({ subnet, prefix }, host)) continue;
    const net: NetworkConfig = { name, bridge: `box${n}`, subnet, prefix, gateway: requested?.gateway ?? toIp(toInt(subnet) + 1), mtu, dns };
    let index: number;
    try {
      index = withNetlink(NETLINK_ROUTE, (nl) => createBridge(nl, net.bridge, net.mtu, storeAlias(store)));
    } catch (e) {
      // Another store's bridge: take the next name.
      if (e instanceof LinkExists) continue;
      throw e;
    }
    try {
      setUpBridge(net, index);
      mkdirs(leaseDir(store, name), 0o700);
      writeFileAtomic(join(networkDir(store, name), "config.json"), JSON.stringify(net), 0o600);
    } catch (e) {
      // Made just now by this process: it is box's own to take back.
      withNetlink(NETLINK_ROUTE, (nl) => deleteLinkIfPresent(nl, net.bridge));
      deleteRules(networkTag(net.bridge));
      removeTree(networkDir(store, name));
      throw e;
    }
    return net;
  }
  throw new UserError(`no free bridge name${requested ? "" : " and subnet"} for network ${name} (box0..box99${requested ? "" : ", 10.90-189.0.0/16"})`);
}

/**
 * `box network create`: a bridge network whose containers find each other by name; or, named
 * `bridge` with --subnet, the default network made ahead with a subnet of the operator's choice.
 */
export function createNetwork(store: Store, name: string, subnet?: SubnetRequest): NetworkConfig {
  if (!NETWORK_NAME.test(name)) throw new UserError(`invalid network name "${name}": only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
  const asDefault = name === DEFAULT_NETWORK && subnet !== undefined;
  if (RESERVED.has(name) && !asDefault) throw new UserError(`network name "${name}" is reserved${name === DEFAULT_NETWORK ? " (with --subnet it sets the default network's subnet, before its first use)" : ""}`);
  const made = withNetworkLock(store, () => {
    if (readNetwork(store, name)) throw new UserError(`network with name ${name} already exists`);
    return makeNetwork(store, name, subnet, !asDefault);
  });
  recordNetworkEvent(store.root, "create", { id: name, name });
  return made;
}

/** The network a container joins: the default one (made on first use) or a user-defined one. */
function findNetwork(store: Store, name: string): NetworkConfig {
  const known = readNetwork(store, name);
  if (!known) {
    if (name === DEFAULT_NETWORK) return makeNetwork(store, name, undefined, false);
    throw new UserError(`network ${name} not found`);
  }
  ensureBridge(store, known);
  return known;
}

/** The networks a store has made. */
export function listNetworks(store: Store): NetworkConfig[] {
  const dir = join(store.root, NETWORKS);
  if (!exists(dir)) return [];
  return readdir(dir)
    .sort()
    .flatMap((name) => readNetwork(store, name) ?? []);
}

/** Removes a network with no container on it: its bridge, its rules (and box's table when it was the last), its leases. */
export function removeNetwork(store: Store, name: string): void {
  withNetworkLock(store, () => {
    const net = readNetwork(store, name);
    if (!net) throw new UserError(`network ${name} not found`);
    const users = readdir(leaseDir(store, name));
    if (users.length) throw new UserError(`network ${name} has active endpoints (${users.length} container${users.length === 1 ? "" : "s"})`);
    withNetlink(NETLINK_ROUTE, (nl) => deleteLinkIfPresent(nl, net.bridge));
    deleteRules(networkTag(net.bridge), true);
    removeTree(networkDir(store, name));
  });
  recordNetworkEvent(store.root, "destroy", { id: name, name });
}

/**
 * The alias each bridge carries: the store that made it. A store deleted by hand (rm -rf of its
 * root) leaves its bridges and rules with no command of its own to remove them; any other store
 * can then tell them from the living ones'.
 */
const STORE_ALIAS = "box store ";
/** A bridge's name, as box gives them (the reclaim touches no other link, whatever its alias). */
const BRIDGE_NAME = /^box\d+$/;

/**
 * The store's root as the kernel resolves it (no relative path, no link another process would
 * see differently); none past the kernel's 255 bytes, rather than a cut one that names another path.
 */
function storeAlias(store: Store): string | undefined {
  const alias = `${STORE_ALIAS}${realPath(store.root)}`;
  return Buffer.byteLength(alias) <= 255 ? alias : undefined;
}

/**
 * Bridge names are the host's, not a store's: making one and reclaiming one take this host-wide
 * lock, so that no reclaim deletes a bridge of the same name that another store has just made.
 */
function withBridgeNames<T>(fn: () => T): T {
  return withLockFile(BRIDGE_LOCK, fn);
}
const BRIDGE_LOCK = "/run/box-bridges.lock";

/**
 * Removes the bridges whose store no longer exists (their alias names a root that is gone), with
 * their network's rules and their containers' published ports: never a link without box's alias
 * and name, nor one of a store that may be there. Root's business only (a user's box makes none).
 */
export function reclaimDeadStores(): void {
  if (!isRootless()) withBridgeNames(reclaimDeadStoresLocked);
}

function reclaimDeadStoresLocked(): void {
  const links = withNetlink(NETLINK_ROUTE, (nl) => listLinks(nl));
  removeBridges(links.filter((l) => BRIDGE_NAME.test(l.name) && l.alias?.startsWith(STORE_ALIAS) && storeGone(l.alias.slice(STORE_ALIAS.length))));
}

/**
 * This store's bridges that none of its networks names: a process killed after it made the bridge
 * and before it wrote the network's config.json. Under the network lock, so none is half made now.
 */
function reclaimUnrecorded(store: Store): void {
  const alias = storeAlias(store);
  if (alias === undefined) return;
  const known = new Set(listNetworks(store).map((n) => n.bridge));
  removeBridges(withNetlink(NETLINK_ROUTE, (nl) => listLinks(nl)).filter((l) => l.alias === alias && !known.has(l.name)));
}

function removeBridges(links: Array<{ name: string }>): void {
  for (const { name } of links) {
    // Rules first: a kill between the two leaves a bridge a later prune finds again, never rules nothing names.
    deleteRulesWhere((tag) => tag === networkTag(name) || isPortRuleOn(tag, name), `of the lost bridge ${name}`, true);
    withNetlink(NETLINK_ROUTE, (nl) => deleteLinkIfPresent(nl, name));
  }
}

/**
 * Removes every network no container is on, and bridges nothing names any more (of this store,
 * made by a killed process; of stores deleted by hand); the networks' names.
 */
export function pruneNetworks(store: Store): string[] {
  reclaimDeadStores();
  if (exists(join(store.root, NETWORKS))) withNetworkLock(store, () => reclaimUnrecorded(store));
  return listNetworks(store)
    .filter((n) => readdir(leaseDir(store, n.name)).length === 0)
    .map((n) => {
      removeNetwork(store, n.name);
      return n.name;
    });
}

// ---- endpoints ----

function addPortRules(id: string, ip: string, bridge: string, ports: PortSpec[]): void {
  if (ports.length) addRules(ports.flatMap((p) => publishRules({ protocol: p.protocol, hostIp: p.hostIp, hostPort: p.hostPort, ip, port: p.containerPort }, portTag(id, p, bridge))));
}

/** The container's place on a network: an address (--ip's), its published ports and their rules. */
export function attachContainer(store: Store, id: string, name: string, network: string, ports: PortSpec[], options: EndpointOptions = {}): Endpoint {
  return withNetworkLock(store, () => {
    const net = findNetwork(store, network);
    if (options.ip !== undefined && !net.dns) throw new UserError("user specified IP address is supported on user defined networks only");
    if (options.aliases?.length && !net.dns) throw new UserError("network-scoped aliases are only supported for user-defined networks");
    ports = claimPorts(portsDir(store), ports, id);
    let ip: string | undefined;
    try {
      ip = leaseAddress(leaseDir(store, net.name), net, id, options.ip);
      addPortRules(id, ip, net.bridge, ports);
      checkPortsWon(ports, id);
      const aliases = options.aliases?.length ? { aliases: options.aliases } : {};
      if (net.dns) announce(store, leaseDir(store, net.name), { id, name, ip, ...aliases });
      return { network: net.name, bridge: net.bridge, ip, prefix: net.prefix, gateway: net.gateway, mtu: net.mtu, ports, names: net.dns, ...aliases, ...(options.mac ? { mac: options.mac } : {}) };
    } catch (e) {
      release(store, id, { network: net.name, ip, ports, names: net.dns }, "/proc");
      throw e;
    }
  });
}

/** Before a container starts again: its bridge and port rules are there (a reboot takes them). */
export function ensureEndpoint(store: Store, id: string, e: Endpoint): void {
  withNetworkLock(store, () => {
    findNetwork(store, e.network);
    if (!e.ports.length) return;
    const tags = new Set(tableRules().map((r) => r.tag));
    const missing = e.ports.filter((p) => !tags.has(portTag(id, p, e.bridge)));
    addPortRules(id, e.ip, e.bridge, missing);
    checkPortsWon(missing, id);
  });
}

/**
 * A stopped container's published ports are withdrawn: a client is refused at once, instead of
 * waiting for the absent address to time out. The host ports stay claimed (the container keeps
 * them until rm, as its address), and ensureEndpoint puts the rules back at its next start.
 */
export function withdrawPorts(store: Store, id: string, e: Endpoint | undefined): void {
  if (!e?.ports.length) return;
  withNetworkLock(store, () => deleteRulesWhere((tag) => tag.startsWith(portRulePrefix(id)), `of container ${id.slice(0, 12)}`));
}

/** What the tags of a container's published ports' rules start with (the native watcher deletes them by it). */
export function portRulePrefix(id: string): string {
  return `${containerTag(id)} `;
}

/** The containers holding an address on the network (stopped ones too: the address is theirs until rm). */
export function networkMembers(store: Store, name: string): Array<{ id: string; name: string; ip: string; mac?: string }> {
  return peers(store, leaseDir(store, name), "");
}

/** The /etc/hosts lines a container of a user-defined network starts with: one per other container on it. */
export function peerHosts(store: Store, e: Endpoint, id: string): string[] {
  return e.names ? peers(store, leaseDir(store, e.network), id).map(hostsLine) : [];
}

/** What a container holds on a network (an endpoint, or as much of one as was taken before a failure). */
type Held = Pick<Endpoint, "network" | "ports" | "names"> & { ip?: string };

/**
 * Gives back what attachContainer took (each part only if it is still the container's). `proc`
 * is where the host's /proc is (the init, after pivot_root, reaches it through a descriptor).
 */
export function releaseEndpoint(store: Store, id: string, e: Held, proc = "/proc"): void {
  withNetworkLock(store, () => release(store, id, e, proc));
}

/**
 * Gives back every claim of the store that names `id` (an address on any network, ports, their
 * rules), whether or not its record got to list them: a kill between attachContainer's claims
 * and the record's update leaves claims the record does not know.
 */
export function releaseClaims(store: Store, id: string): void {
  withNetworkLock(store, () => {
    for (const net of listNetworks(store)) {
      for (const ip of claimsOf(leaseDir(store, net.name), (owner) => owner === id)) release(store, id, { network: net.name, ip, ports: [], names: net.dns }, "/proc");
    }
    for (const file of claimsOf(portsDir(store), (owner) => owner === id)) unlink(join(portsDir(store), file));
    deleteRules(containerTag(id));
  });
}

/**
 * Claims (leases, ports) whose container is gone from the store, or that are empty (a kill while
 * an older box wrote one): given back, with the rules of their owners. What `prune` reclaims.
 */
export function releaseStaleClaims(store: Store, exists: (id: string) => boolean): void {
  withNetworkLock(store, () => {
    const stale = (owner: string) => !owner || !exists(owner);
    const owners = new Set<string>();
    for (const net of listNetworks(store)) {
      for (const ip of claimsOf(leaseDir(store, net.name), stale)) {
        owners.add(readFile(join(leaseDir(store, net.name), ip)));
        unlink(join(leaseDir(store, net.name), ip));
      }
    }
    for (const file of claimsOf(portsDir(store), stale)) {
      owners.add(readFile(join(portsDir(store), file)));
      unlink(join(portsDir(store), file));
    }
    for (const owner of owners) if (owner) deleteRules(containerTag(owner));
  });
}

/** The claim files of `dir` whose owner (their content) passes `test`. */
function claimsOf(dir: string, test: (owner: string) => boolean): string[] {
  return readdirIfExists(dir).filter((f) => {
    try {
      return test(readFile(join(dir, f)));
    } catch {
      return false;
    }
  });
}

function release(store: Store, id: string, e: Held, proc: string): void {
  // Its only rules are its published ports' (all added in one batch, or none).
  if (e.ports.length) deleteRules(containerTag(id));
  if (e.ip && e.names) withdraw(store, leaseDir(store, e.network), id, e.ip, proc);
  // Its veth needs nothing: it goes with the container's network namespace, which the kernel
  // tears down in the background once the last process in it is gone (deleting it here would
  // wait ~25 ms for an RCU grace period, on every run --rm).
  releasePorts(portsDir(store), e.ports, id);
  if (e.ip) giveBack(join(leaseDir(store, e.network), e.ip), id);
}

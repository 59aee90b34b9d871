// Bridge networks of a store and the endpoints of its containers: the bridge with its gateway
// address and masquerade rule (made on first use), address leases (one O_EXCL file per address,
// so parallel runs never get the same one), published ports (one O_EXCL file per protocol and
// port, and a test bind for the host's own listeners), and their DNAT rules.
import { close, exists, isErrno, lockExclusive, mkdirs, open, readdir, readFile, removeTree, unlink, writeFile, writeFileAtomic } from "../sys/fs.ts";
import { O_CLOEXEC, O_CREAT, O_RDONLY } from "../sys/constants.ts";
import { Errno } from "../sys/errors.ts";
import { check, libc } from "../sys/libc.ts";
import { withNetlink, NETLINK_ROUTE, NetlinkError } from "../sys/netlink.ts";
import { join } from "../path.ts";
import { UserError } from "../container/errors.ts";
import type { Store } from "../container/store.ts";
import type { Endpoint, PortSpec } from "../container/spec.ts";
import { addAddress, createBridge, deleteLinkIfPresent, linkIndex } from "./links.ts";
import { addRules, deleteRules, masqueradeRules, publishRules, ruleTags } from "./nftables.ts";
import { announce, hostsLine, peers, withdraw } from "./hosts.ts";

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
const portsDir = (store: Store) => join(store.root, NETWORKS, "ports");

export const networkTag = (bridge: string) => `box network ${bridge}`;
export const containerTag = (id: string) => `box container ${id}`;
/** A published port's rules say whose and which port: "box container ID tcp/8080". */
const portTag = (id: string, p: PortSpec) => `${containerTag(id)} ${p.protocol}/${p.hostPort}`;

/**
 * The container that publishes this host port already, in any store of the machine: the rules
 * in box's table are the one record all of them share.
 */
function portOwner(p: PortSpec): string | undefined {
  const suffix = ` ${p.protocol}/${p.hostPort}`;
  return ruleTags()
    .find((t) => t.startsWith("box container ") && t.endsWith(suffix))
    ?.split(" ")[2];
}

/** One box process at a time creates networks or claims ports in a store. */
function withNetworkLock<T>(store: Store, fn: () => T): T {
  const dir = join(store.root, NETWORKS);
  mkdirs(dir, 0o700);
  const lock = join(dir, ".lock");
  const fd = open(lock, O_RDONLY | O_CREAT | O_CLOEXEC, 0o600);
  try {
    lockExclusive(fd, lock);
    return fn();
  } finally {
    close(fd);
  }
}

// ---- addresses ----

function toInt(ip: string): number {
  return ip.split(".").reduce((n, o) => n * 256 + Number(o), 0);
}
function toIp(n: number): string {
  return [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join(".");
}

/** The host's IPv4 routes (destination, prefix) from /proc/net/route: a new subnet must miss them all. */
function hostRoutes(): Array<[number, number]> {
  return readFile("/proc/net/route")
    .split("\n")
    .slice(1)
    .flatMap((line) => {
      const f = line.trim().split(/\s+/);
      if (f.length < 8) return [];
      // Little-endian hex on x86.
      const le = (h: string) => Buffer.from(h, "hex").readUInt32LE(0);
      const mask = le(f[7]!);
      if (mask === 0) return []; // the default route covers everything and blocks nothing
      return [[le(f[1]!), popcount(mask)] as [number, number]];
    });
}
function popcount(n: number): number {
  let c = 0;
  for (; n; n &= n - 1) c++;
  return c;
}
function overlaps(a: number, ap: number, b: number, bp: number): boolean {
  const p = Math.min(ap, bp);
  const mask = p === 0 ? 0 : (0xffffffff << (32 - p)) >>> 0;
  return ((a & mask) >>> 0) === ((b & mask) >>> 0);
}

/** The MTU of the host's default route's device, which the bridge and veths take on. */
function hostMtu(): number {
  const line = readFile("/proc/net/route")
    .split("\n")
    .find((l) => l.split(/\s+/)[1] === "00000000");
  const dev = line?.split(/\s+/)[0];
  if (dev) {
    try {
      return Number(readFile(`/sys/class/net/${dev}/mtu`).trim()) || 1500;
    } catch {}
  }
  return 1500;
}

// ---- networks ----

function readNetwork(store: Store, name: string): NetworkConfig | undefined {
  const file = join(networkDir(store, name), "config.json");
  return exists(file) ? (JSON.parse(readFile(file)) as NetworkConfig) : undefined;
}

/** Bridge, gateway address, and what the kernel must allow, for a network's config. */
function bringUpBridge(net: NetworkConfig): void {
  withNetlink(NETLINK_ROUTE, (nl) => {
    const index = createBridge(nl, net.bridge, net.mtu);
    addAddress(nl, index, net.gateway, net.prefix, net.bridge);
  });
  // Published ports reached at 127.0.0.1 are routed to the bridge (as Docker without its proxy).
  writeFile(`/proc/sys/net/ipv4/conf/${net.bridge}/route_localnet`, "1");
  if (readFile("/proc/sys/net/ipv4/ip_forward").trim() !== "1") writeFile("/proc/sys/net/ipv4/ip_forward", "1");
  deleteRules(networkTag(net.bridge));
  addRules(masqueradeRules(net.bridge, net.subnet, net.prefix, networkTag(net.bridge)));
}

const NETWORK_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,63}$/;
/** Names that mean a mode, not a network. */
const RESERVED = new Set(["none", "host", "default", DEFAULT_NETWORK]);

export interface SubnetRequest {
  subnet: string;
  prefix: number;
  gateway?: string;
}

/** `10.50.0.0/24` as given to --subnet: the network's own address, a prefix from 8 to 29. */
export function parseSubnet(text: string, gateway?: string): SubnetRequest {
  const m = /^(\d{1,3}(?:\.\d{1,3}){3})\/(\d{1,2})$/.exec(text);
  const prefix = Number(m?.[2]);
  if (!m || m[1]!.split(".").some((o) => Number(o) > 255) || prefix < 8 || prefix > 29) throw new UserError(`invalid subnet "${text}": an IPv4 network like 10.50.0.0/24 (prefix 8 to 29)`);
  const net = toInt(m[1]!);
  if (((net & ~maskOf(prefix)) >>> 0) !== 0) throw new UserError(`invalid subnet "${text}": it has host bits set (the network is ${toIp((net & maskOf(prefix)) >>> 0)}/${prefix})`);
  if (gateway !== undefined) {
    if (!/^\d{1,3}(\.\d{1,3}){3}$/.test(gateway) || !overlaps(toInt(gateway), 32, net, prefix) || toInt(gateway) === net || toInt(gateway) === net + 2 ** (32 - prefix) - 1) throw new UserError(`invalid gateway "${gateway}": an address of ${text}`);
  }
  return { subnet: m[1]!, prefix, gateway };
}

function maskOf(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

/**
 * Makes a network's bridge: the first free name `boxN`, and the requested subnet or the first
 * 10.(90+N).0.0/16 that no host route covers (each bridge's subnet is a host route too).
 */
function makeNetwork(store: Store, name: string, requested: SubnetRequest | undefined, dns: boolean): NetworkConfig {
  const routes = hostRoutes();
  const mtu = hostMtu();
  if (requested) {
    const clash = routes.find(([dest, prefix]) => overlaps(dest, prefix, toInt(requested.subnet), requested.prefix));
    if (clash) throw new UserError(`subnet ${requested.subnet}/${requested.prefix} overlaps a route of the host (${toIp(clash[0])}/${clash[1]})`);
  }
  for (let n = 0; n < 100; n++) {
    const bridge = `box${n}`;
    let subnet = requested ? toInt(requested.subnet) : toInt(`10.${90 + n}.0.0`);
    const prefix = requested?.prefix ?? 16;
    if (!requested && routes.some(([dest, p]) => overlaps(dest, p, subnet, prefix))) continue;
    const gateway = requested?.gateway ?? toIp(subnet + 1);
    const net: NetworkConfig = { name, bridge, subnet: toIp(subnet), prefix, gateway, mtu, dns };
    try {
      bringUpBridge(net);
    } catch (e) {
      // Another store's bridge: take the next name.
      if (e instanceof NetlinkError && e.errno === Errno.EEXIST && e.syscall === "create bridge") continue;
      withNetlink(NETLINK_ROUTE, (nl) => deleteLinkIfPresent(nl, bridge));
      throw e;
    }
    mkdirs(leaseDir(store, name), 0o700);
    writeFileAtomic(join(networkDir(store, name), "config.json"), JSON.stringify(net), 0o600);
    return net;
  }
  throw new UserError(`no free bridge name${requested ? "" : " and subnet"} for network ${name} (box0..box99${requested ? "" : ", 10.90-189.0.0/16"})`);
}

/** `box network create`: a bridge network whose containers find each other by name. */
export function createNetwork(store: Store, name: string, subnet?: SubnetRequest): NetworkConfig {
  if (!NETWORK_NAME.test(name)) throw new UserError(`invalid network name "${name}": only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
  if (RESERVED.has(name)) throw new UserError(`network name "${name}" is reserved`);
  return withNetworkLock(store, () => {
    if (readNetwork(store, name)) throw new UserError(`network with name ${name} already exists`);
    return makeNetwork(store, name, subnet, true);
  });
}

/** The network a container joins: the default one (made on first use) or a user-defined one. */
function findNetwork(store: Store, name: string): NetworkConfig {
  const known = readNetwork(store, name);
  if (!known) {
    if (name === DEFAULT_NETWORK) return makeNetwork(store, name, undefined, false);
    throw new UserError(`network ${name} not found`);
  }
  // After a reboot the bridge and rules are gone while the store remembers them.
  if (withNetlink(NETLINK_ROUTE, (nl) => linkIndex(nl, known.bridge)) === undefined) bringUpBridge(known);
  return known;
}

export function networkExists(store: Store, name: string): boolean {
  return name === DEFAULT_NETWORK || readNetwork(store, name) !== undefined;
}

/** The networks a store has made. */
export function listNetworks(store: Store): NetworkConfig[] {
  const dir = join(store.root, NETWORKS);
  if (!exists(dir)) return [];
  return readdir(dir).flatMap((name) => readNetwork(store, name) ?? []);
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
}

/** Removes every network no container is on; their names. */
export function pruneNetworks(store: Store): string[] {
  return listNetworks(store)
    .filter((n) => !exists(leaseDir(store, n.name)) || readdir(leaseDir(store, n.name)).length === 0)
    .map((n) => {
      removeNetwork(store, n.name);
      return n.name;
    });
}

// ---- endpoints ----

/** The next free address of the network, claimed for the container by an O_EXCL file. */
function leaseAddress(store: Store, net: NetworkConfig, id: string): string {
  const dir = leaseDir(store, net.name);
  mkdirs(dir, 0o700);
  const first = toInt(net.gateway) + 1;
  const last = toInt(net.subnet) + 2 ** (32 - net.prefix) - 2;
  for (let n = first; n <= last; n++) {
    const ip = toIp(n);
    try {
      writeFile(join(dir, ip), id, { exclusive: true, mode: 0o600 });
      return ip;
    } catch (e) {
      if (!isErrno(e, Errno.EEXIST)) throw e;
    }
  }
  throw new UserError(`no free address left in network ${net.name} (${net.subnet}/${net.prefix})`);
}

const AF_INET = 2;
const SOCK_STREAM = 1;
const SOCK_DGRAM = 2;
const SOCK_CLOEXEC = 0o2000000;

/** Whether something on the host listens on the port already: bind it for a moment. */
function hostPortFree(p: PortSpec): boolean {
  const fd = check(libc.socket(AF_INET, (p.protocol === "tcp" ? SOCK_STREAM : SOCK_DGRAM) | SOCK_CLOEXEC, 0), "socket");
  try {
    const addr = Buffer.alloc(16);
    addr.writeUInt16LE(AF_INET, 0);
    addr.writeUInt16BE(p.hostPort, 2);
    Buffer.from((p.hostIp ?? "0.0.0.0").split(".").map(Number)).copy(addr, 4);
    if (libc.bind(fd, addr, 16) === 0) return true;
    return false;
  } finally {
    close(fd);
  }
}

const portFile = (store: Store, p: PortSpec) => join(portsDir(store), `${p.protocol}-${p.hostPort}`);

/** Claims one host port for the container: its port file (O_EXCL), then a test bind. */
function claimPort(store: Store, p: PortSpec, id: string): void {
  const what = `${p.hostIp ?? "0.0.0.0"}:${p.hostPort}/${p.protocol}`;
  const owner = portOwner(p);
  if (owner !== undefined) throw new UserError(`bind for ${what} failed: port is already allocated to container ${owner.slice(0, 12)}`);
  try {
    writeFile(portFile(store, p), id, { exclusive: true, mode: 0o600 });
  } catch (e) {
    if (isErrno(e, Errno.EEXIST)) throw new UserError(`bind for ${what} failed: port is already allocated to container ${readFile(portFile(store, p)).slice(0, 12)}`);
    throw e;
  }
  if (!hostPortFree(p)) {
    unlink(portFile(store, p));
    throw new UserError(`bind for ${what} failed: port is already in use on the host`);
  }
}

/** Docker's range for ports it picks (the kernel's default ephemeral range). */
const FIRST_FREE_PORT = 32768;
const LAST_FREE_PORT = 60999;

/** A free host port for `p` (hostPort 0), tried from a random place in the range on. */
function claimAnyPort(store: Store, p: PortSpec, id: string): PortSpec {
  const span = LAST_FREE_PORT - FIRST_FREE_PORT + 1;
  const start = Math.floor(Math.random() * span);
  for (let i = 0; i < span; i++) {
    const chosen = { ...p, hostPort: FIRST_FREE_PORT + ((start + i) % span) };
    try {
      claimPort(store, chosen, id);
      return chosen;
    } catch (e) {
      if (!(e instanceof UserError)) throw e;
    }
  }
  throw new UserError(`no free host port left for ${p.containerPort}/${p.protocol} (${FIRST_FREE_PORT}-${LAST_FREE_PORT})`);
}

/** Claims the ports (choosing those given as 0); returns them as published, or claims none. */
function claimPorts(store: Store, ports: PortSpec[], id: string): PortSpec[] {
  mkdirs(portsDir(store), 0o700);
  const claimed: PortSpec[] = [];
  try {
    for (const p of ports) {
      if (p.hostPort === 0) claimed.push(claimAnyPort(store, p, id));
      else {
        claimPort(store, p, id);
        claimed.push(p);
      }
    }
    return claimed;
  } catch (e) {
    for (const p of claimed) unlink(portFile(store, p));
    throw e;
  }
}

/** The container's place on a network: an address, its published ports and their rules. */
export function attachContainer(store: Store, id: string, name: string, network: string, ports: PortSpec[]): Endpoint {
  return withNetworkLock(store, () => {
    const net = findNetwork(store, network);
    ports = claimPorts(store, ports, id);
    let ip: string | undefined;
    try {
      ip = leaseAddress(store, net, id);
      const endpoint: Endpoint = { network: net.name, bridge: net.bridge, ip, prefix: net.prefix, gateway: net.gateway, mtu: net.mtu, hostVeth: hostVethName(id), ports };
      if (ports.length) addRules(ports.flatMap((p) => publishRules({ protocol: p.protocol, hostIp: p.hostIp, hostPort: p.hostPort, ip: ip!, port: p.containerPort }, portTag(id, p))));
      if (net.dns) announce(store, peers(store, leaseDir(store, net.name), id), { id, name, ip });
      return endpoint;
    } catch (e) {
      releaseEndpoint(store, { id, name }, { network: net.name, ip, ports });
      throw e;
    }
  });
}

/** The /etc/hosts lines a container of a user-defined network starts with: one per other container on it. */
export function peerHosts(store: Store, e: Endpoint, id: string): string[] {
  return readNetwork(store, e.network)?.dns ? peers(store, leaseDir(store, e.network), id).map(hostsLine) : [];
}

/** The host's end of the container's veth pair (15 characters at most, like every link name). */
export function hostVethName(id: string): string {
  return `veth${id.slice(0, 11)}`;
}

/**
 * Gives back what attachContainer took (each part only if it is still the container's). `proc`
 * is where the host's /proc is (the init, after pivot_root, reaches it through a descriptor).
 */
export function releaseEndpoint(store: Store, who: { id: string; name: string }, e: { network: string; ip?: string; ports: PortSpec[] }, proc = "/proc"): void {
  const { id } = who;
  deleteRules(containerTag(id));
  if (e.ip && readNetwork(store, e.network)?.dns) withdraw(store, peers(store, leaseDir(store, e.network), id), { id, name: who.name, ip: e.ip }, proc);
  // Its veth needs nothing: it goes with the container's network namespace, which the kernel
  // tears down in the background once the last process in it is gone (deleting it here would
  // wait ~25 ms for an RCU grace period, on every run --rm).
  const owned = (file: string) => {
    try {
      return readFile(file) === id;
    } catch {
      return false;
    }
  };
  for (const p of e.ports) if (owned(portFile(store, p))) unlink(portFile(store, p));
  if (e.ip) {
    const lease = join(leaseDir(store, e.network), e.ip);
    if (owned(lease)) unlink(lease);
  }
}

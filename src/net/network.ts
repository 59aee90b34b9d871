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
import { addRules, deleteRules, masqueradeRules, publishRules } from "./nftables.ts";

/** Docker's name for the default network. */
export const DEFAULT_NETWORK = "bridge";

export interface NetworkConfig {
  name: string;
  bridge: string;
  subnet: string;
  prefix: number;
  gateway: string;
  mtu: number;
}

const NETWORKS = "networks";
const networkDir = (store: Store, name: string) => join(store.root, NETWORKS, name);
const leaseDir = (store: Store, name: string) => join(networkDir(store, name), "leases");
const portsDir = (store: Store) => join(store.root, NETWORKS, "ports");

export const networkTag = (bridge: string) => `box network ${bridge}`;
export const containerTag = (id: string) => `box container ${id}`;

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

/** The default network, made on first use: bridge `box0` (or the next free `boxN`) and a /16 no host route covers. */
function ensureDefaultNetwork(store: Store): NetworkConfig {
  const known = readNetwork(store, DEFAULT_NETWORK);
  if (known) {
    // After a reboot the bridge and rules are gone while the store remembers them.
    if (withNetlink(NETLINK_ROUTE, (nl) => linkIndex(nl, known.bridge)) === undefined) bringUpBridge(known);
    return known;
  }
  const routes = hostRoutes();
  const mtu = hostMtu();
  for (let n = 0; n < 100; n++) {
    const bridge = `box${n}`;
    const subnet = toInt(`10.${90 + n}.0.0`);
    if (routes.some(([dest, prefix]) => overlaps(dest, prefix, subnet, 16))) continue;
    const net: NetworkConfig = { name: DEFAULT_NETWORK, bridge, subnet: toIp(subnet), prefix: 16, gateway: toIp(subnet + 1), mtu };
    try {
      bringUpBridge(net);
    } catch (e) {
      // Another store's bridge: take the next name.
      if (e instanceof NetlinkError && e.errno === Errno.EEXIST && e.syscall === "create bridge") continue;
      withNetlink(NETLINK_ROUTE, (nl) => deleteLinkIfPresent(nl, bridge));
      throw e;
    }
    mkdirs(leaseDir(store, DEFAULT_NETWORK), 0o700);
    writeFileAtomic(join(networkDir(store, DEFAULT_NETWORK), "config.json"), JSON.stringify(net), 0o600);
    return net;
  }
  throw new UserError("no free bridge name and subnet for the default network (box0..box99, 10.90-189.0.0/16)");
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

function claimPorts(store: Store, ports: PortSpec[], id: string): void {
  mkdirs(portsDir(store), 0o700);
  const claimed: string[] = [];
  try {
    for (const p of ports) {
      const what = `${p.hostIp ?? "0.0.0.0"}:${p.hostPort}/${p.protocol}`;
      try {
        writeFile(portFile(store, p), id, { exclusive: true, mode: 0o600 });
      } catch (e) {
        if (isErrno(e, Errno.EEXIST)) throw new UserError(`bind for ${what} failed: port is already allocated to container ${readFile(portFile(store, p)).slice(0, 12)}`);
        throw e;
      }
      claimed.push(portFile(store, p));
      if (!hostPortFree(p)) throw new UserError(`bind for ${what} failed: port is already in use on the host`);
    }
  } catch (e) {
    claimed.forEach(unlink);
    throw e;
  }
}

/** The container's place on the default network: an address, its published ports and their rules. */
export function attachContainer(store: Store, id: string, ports: PortSpec[]): Endpoint {
  return withNetworkLock(store, () => {
    const net = ensureDefaultNetwork(store);
    claimPorts(store, ports, id);
    let ip: string | undefined;
    try {
      ip = leaseAddress(store, net, id);
      const endpoint: Endpoint = { network: net.name, bridge: net.bridge, ip, prefix: net.prefix, gateway: net.gateway, mtu: net.mtu, hostVeth: hostVethName(id), ports };
      if (ports.length) addRules(ports.flatMap((p) => publishRules({ protocol: p.protocol, hostIp: p.hostIp, hostPort: p.hostPort, ip: ip!, port: p.containerPort }, containerTag(id))));
      return endpoint;
    } catch (e) {
      releaseEndpoint(store, id, { network: net.name, ip, ports });
      throw e;
    }
  });
}

/** The host's end of the container's veth pair (15 characters at most, like every link name). */
export function hostVethName(id: string): string {
  return `veth${id.slice(0, 11)}`;
}

/** Gives back what attachContainer took (each part only if it is still the container's). */
export function releaseEndpoint(store: Store, id: string, e: { network: string; ip?: string; ports: PortSpec[] }): void {
  deleteRules(containerTag(id));
  withNetlink(NETLINK_ROUTE, (nl) => deleteLinkIfPresent(nl, hostVethName(id)));
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

// Addresses for bridge networks: a subnet no host route covers, and leases of single addresses,
// each an O_EXCL file named by the address and holding the container's id, so that two box
// processes (parallel runs, even of other stores' networks) never hand out one address twice.
import { isErrno, readdir, readFile, unlink, writeFileExclusive } from "../sys/fs.ts";
import { Errno } from "../sys/errors.ts";
import { join } from "../path.ts";
import { UserError } from "../container/errors.ts";
import { broadcastOf, IPV4, maskOf, overlaps, toInt, toIp } from "./ipv4.ts";

export interface SubnetRequest {
  subnet: string;
  prefix: number;
  gateway?: string;
}

/** `10.50.0.0/24` as given to --subnet: the network's own address, a prefix from 8 to 29. */
export function parseSubnet(text: string, gateway?: string): SubnetRequest {
  const [address = "", prefixText = ""] = text.split("/");
  const prefix = Number(prefixText);
  if (!IPV4.test(address) || !/^\d{1,2}$/.test(prefixText) || prefix < 8 || prefix > 29) throw new UserError(`invalid subnet "${text}": an IPv4 network like 10.50.0.0/24 (prefix 8 to 29)`);
  const net = toInt(address);
  if (((net & ~maskOf(prefix)) >>> 0) !== 0) throw new UserError(`invalid subnet "${text}": it has host bits set (the network is ${toIp((net & maskOf(prefix)) >>> 0)}/${prefix})`);
  if (gateway !== undefined) {
    const g = IPV4.test(gateway) ? toInt(gateway) : -1;
    if (g < 0 || !overlaps(g, 32, net, prefix) || g === net || g === broadcastOf(net, prefix)) throw new UserError(`invalid gateway "${gateway}": an address of ${text}`);
  }
  return { subnet: address, prefix, gateway };
}

/** One IPv4 route of the host's main table, from /proc/net/route. */
export interface HostRoute {
  device: string;
  destination: number;
  gateway: number;
  prefix: number;
}

export function hostRouteTable(): HostRoute[] {
  // The kernel prints the network-order words as native (little-endian) hex.
  const word = (h: string) => Buffer.from(h, "hex").readUInt32LE(0);
  return readFile("/proc/net/route")
    .split("\n")
    .slice(1)
    .flatMap((line) => {
      const f = line.trim().split(/\s+/);
      return f.length < 8 ? [] : [{ device: f[0]!, destination: word(f[1]!), gateway: word(f[2]!), prefix: popcount(word(f[7]!)) }];
    });
}

function popcount(n: number): number {
  let c = 0;
  for (; n; n &= n - 1) c++;
  return c;
}

/**
 * The first route of `routes` that the network shares an address with; not the default route,
 * which covers everything and blocks nothing.
 */
export function routeClash(routes: HostRoute[], subnet: string, prefix: number): string | undefined {
  const clash = routes.find((r) => r.prefix > 0 && overlaps(r.destination, r.prefix, toInt(subnet), prefix));
  return clash && `${toIp(clash.destination)}/${clash.prefix}`;
}

/** The MTU of the host's default route's device, which bridges and veths take on. */
export function hostMtu(routes: HostRoute[]): number {
  const dev = routes.find((r) => r.prefix === 0)?.device;
  if (dev) {
    try {
      return Number(readFile(`/sys/class/net/${dev}/mtu`).trim()) || 1500;
    } catch {}
  }
  return 1500;
}

/**
 * The address `wanted` (--ip), or else the next free one of the subnet (not its own, its
 * broadcast or the gateway), leased to `id`.
 */
export function leaseAddress(dir: string, net: { name: string; subnet: string; prefix: number; gateway: string }, id: string, wanted?: string): string {
  const first = toInt(net.subnet) + 1;
  const last = broadcastOf(toInt(net.subnet), net.prefix) - 1;
  if (wanted !== undefined) {
    if (!(toInt(wanted) >= first && toInt(wanted) <= last)) throw new UserError(`invalid address ${wanted}: It does not belong to any of this network's subnets (${net.name}: ${net.subnet}/${net.prefix})`);
    if (wanted === net.gateway || !leaseIfFree(dir, wanted, id)) throw new UserError(`Address already in use: ${wanted} (network ${net.name})`);
    return wanted;
  }
  const taken = new Set(readdir(dir));
  for (let n = first; n <= last; n++) {
    const ip = toIp(n);
    if (ip !== net.gateway && !taken.has(ip) && leaseIfFree(dir, ip, id)) return ip;
  }
  throw new UserError(`no free address left in network ${net.name} (${net.subnet}/${net.prefix})`);
}

/** O_EXCL: another box process may have taken it since any look at the directory. */
function leaseIfFree(dir: string, ip: string, id: string): boolean {
  try {
    writeFileExclusive(join(dir, ip), id, 0o600);
    return true;
  } catch (e) {
    if (!isErrno(e, Errno.EEXIST)) throw e;
    return false;
  }
}

/** Whether `file` (a lease or a port claim) holds `id`. */
function heldBy(file: string, id: string): boolean {
  try {
    return readFile(file) === id;
  } catch {
    return false;
  }
}

/** Gives a file claim (a lease, a port) back if it is still `id`'s. */
export function giveBack(file: string, id: string): void {
  if (heldBy(file, id)) unlink(file);
}

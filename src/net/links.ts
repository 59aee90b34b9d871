// Links, addresses and routes through rtnetlink: the bridge, each container's veth pair, and
// what the container's end needs (its name, address, default route).
import { attr, attrNest, attrStr, attrString, attrU32, message, NetlinkError, NetlinkSocket, NLM_F_CREATE, NLM_F_DUMP, NLM_F_EXCL, NLM_F_REPLACE, parseAttrs } from "../sys/netlink.ts";
import { broadcastOf, ipv4Bytes, toInt, toIp } from "./ipv4.ts";
import { Errno } from "../sys/errors.ts";
import { AF_INET } from "../sys/constants.ts";

const RTM_NEWLINK = 16;
const RTM_DELLINK = 17;
const RTM_GETLINK = 18;
const RTM_NEWADDR = 20;
const RTM_GETADDR = 22;
const RTM_NEWROUTE = 24;
const AF_UNSPEC = 0;
const IFLA_ADDRESS = 1;
const IFLA_IFNAME = 3;
const IFLA_MTU = 4;
const IFLA_MASTER = 10;
const IFLA_LINKINFO = 18;
const IFLA_INFO_KIND = 1;
const IFLA_INFO_DATA = 2;
const IFLA_NET_NS_FD = 28;
const IFLA_IFALIAS = 20;
/** struct ifinfomsg, before a link's attributes. */
const IFINFOMSG_SIZE = 16;
const VETH_INFO_PEER = 1;
/** struct ifaddrmsg, before an address's attributes. */
const IFADDRMSG_SIZE = 8;
const IFA_ADDRESS = 1;
const IFA_LOCAL = 2;
const IFA_BROADCAST = 4;
const RTA_GATEWAY = 5;
const RTA_OIF = 4;
const IFF_UP = 0x1;
const RT_TABLE_MAIN = 254;
const RTPROT_BOOT = 3;
const RTN_UNICAST = 1;

/** struct ifinfomsg: family, type, index, flags, change. */
function ifinfo(index = 0, up = false): Buffer {
  const b = Buffer.alloc(16);
  b.writeUInt8(AF_UNSPEC, 0);
  b.writeInt32LE(index, 4);
  b.writeUInt32LE(up ? IFF_UP : 0, 8);
  b.writeUInt32LE(up ? IFF_UP : 0, 12);
  return b;
}

/** The index of the link called `name`, or undefined when there is none. */
export function linkIndex(nl: NetlinkSocket, name: string): number | undefined {
  return findLink(nl, name)?.index;
}

/** The link called `name`: its index and alias; undefined when there is none. */
export function findLink(nl: NetlinkSocket, name: string): { index: number; alias?: string } | undefined {
  try {
    const [reply] = nl.query(message(RTM_GETLINK, 0, ifinfo(), attrStr(IFLA_IFNAME, name)), "find link", name);
    if (!reply) return undefined;
    return { index: reply.payload.readInt32LE(4), alias: attrString(parseAttrs(reply.payload, IFINFOMSG_SIZE).get(IFLA_IFALIAS)) };
  } catch (e) {
    if (e instanceof NetlinkError && e.errno === Errno.ENODEV) return undefined;
    throw e;
  }
}

/** EEXIST from creating a link, in words. */
export class LinkExists extends Error {
  constructor(kind: string, name: string) {
    super(`create ${kind}: a link named ${name} already exists`);
  }
}

function orLinkExists(kind: string, name: string, create: () => void): void {
  try {
    create();
  } catch (e) {
    if (e instanceof NetlinkError && e.errno === Errno.EEXIST) throw new LinkExists(kind, name);
    throw e;
  }
}

/**
 * A new bridge, up, with `alias` (its owner, `ip link` shows it); LinkExists when a link of that
 * name is there already.
 */
export function createBridge(nl: NetlinkSocket, name: string, mtu: number, alias: string | undefined): number {
  orLinkExists("bridge", name, () =>
    nl.request([message(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, ifinfo(0, true), attrStr(IFLA_IFNAME, name), attrU32(IFLA_MTU, mtu), attrNest(IFLA_LINKINFO, attrStr(IFLA_INFO_KIND, "bridge")))], () => ["create bridge", name]),
  );
  const index = linkIndex(nl, name)!;
  // A new link's alias is set by a change of the link (creation ignores IFLA_IFALIAS).
  if (alias !== undefined) nl.request([message(RTM_NEWLINK, 0, ifinfo(index), attrStr(IFLA_IFALIAS, alias))], () => ["set the alias of", name]);
  return index;
}

/** Every link of this network namespace: its name and alias, if it has one. */
export function listLinks(nl: NetlinkSocket): Array<{ name: string; alias?: string }> {
  return nl.query(message(RTM_GETLINK, NLM_F_DUMP, ifinfo()), "list links").map((r) => {
    const a = parseAttrs(r.payload, IFINFOMSG_SIZE);
    return { name: attrString(a.get(IFLA_IFNAME)) ?? "", alias: attrString(a.get(IFLA_IFALIAS)) };
  });
}

/**
 * A veth pair: `hostName` up on the bridge `master`, its peer called `peerName` with the MAC
 * `peerMac` already inside the network namespace `netnsFd` (down until the container side
 * configures it).
 */
export function createVeth(nl: NetlinkSocket, hostName: string, peer: { name: string; mac: string; netnsFd: number }, master: number, mtu: number): void {
  const mac = Buffer.from(peer.mac.split(":").map((h) => parseInt(h, 16)));
  const peerInfo = Buffer.concat([ifinfo(), attrStr(IFLA_IFNAME, peer.name), attr(IFLA_ADDRESS, mac), attrU32(IFLA_NET_NS_FD, peer.netnsFd), attrU32(IFLA_MTU, mtu)]);
  const linkinfo = attrNest(IFLA_LINKINFO, attrStr(IFLA_INFO_KIND, "veth"), attrNest(IFLA_INFO_DATA, attrNest(VETH_INFO_PEER, peerInfo)));
  orLinkExists("veth", hostName, () =>
    nl.request([message(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, ifinfo(0, true), attrStr(IFLA_IFNAME, hostName), attrU32(IFLA_MTU, mtu), attrU32(IFLA_MASTER, master), linkinfo)], () => ["create veth", hostName]),
  );
}

/** Deletes the link if it is there. */
export function deleteLinkIfPresent(nl: NetlinkSocket, name: string): void {
  try {
    nl.request([message(RTM_DELLINK, 0, ifinfo(), attrStr(IFLA_IFNAME, name))], () => ["delete link", name]);
  } catch (e) {
    if (!(e instanceof NetlinkError && e.errno === Errno.ENODEV)) throw e;
  }
}

/** `ip/prefix` on the link (with its broadcast address); one already there is fine. */
function addressMessage(index: number, ip: string, prefix: number) {
  const header = Buffer.from([AF_INET, prefix, 0, 0, 0, 0, 0, 0]);
  header.writeUInt32LE(index, 4);
  const bytes = ipv4Bytes(ip);
  const broadcast = ipv4Bytes(toIp(broadcastOf(toInt(ip), prefix)));
  return message(RTM_NEWADDR, NLM_F_CREATE | NLM_F_REPLACE, header, attr(IFA_LOCAL, bytes), attr(IFA_ADDRESS, bytes), attr(IFA_BROADCAST, broadcast));
}

/** Adds `ip/prefix` to the link (with its broadcast address); one already there is fine. */
export function addAddress(nl: NetlinkSocket, index: number, ip: string, prefix: number, name: string): void {
  nl.request([addressMessage(index, ip, prefix)], () => ["add address", `${ip}/${prefix} to ${name}`]);
}

const routeHeader = () => Buffer.from([AF_INET, 0, 0, 0, RT_TABLE_MAIN, RTPROT_BOOT, 0, RTN_UNICAST, 0, 0, 0, 0]);
const defaultRoute = (index: number, gateway: string) => message(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, routeHeader(), attr(RTA_GATEWAY, ipv4Bytes(gateway)), attrU32(RTA_OIF, index));

/**
 * A link's address, the link up, and (with `gateway`) the default route through it: one write,
 * whose messages the kernel takes in order (the route needs the link up and the address's subnet).
 */
export function configureLink(nl: NetlinkSocket, index: number, name: string, ip: string, prefix: number, gateway?: string): void {
  nl.request(
    [addressMessage(index, ip, prefix), message(RTM_NEWLINK, 0, ifinfo(index, true)), ...(gateway === undefined ? [] : [defaultRoute(index, gateway)])],
    (i) => [["add address", `${ip}/${prefix} to ${name}`], ["set link up", name], ["add default route via", gateway]][i] as [string, string],
  );
}

/** The default route through `gateway` on the link. */
export function addDefaultRoute(nl: NetlinkSocket, index: number, gateway: string): void {
  nl.request([defaultRoute(index, gateway)], () => ["add default route via", gateway]);
}

/** The index of the link holding the IPv4 address `ip`, or undefined. */
export function linkWithAddress(nl: NetlinkSocket, ip: string): number | undefined {
  const header = Buffer.from([AF_INET, 0, 0, 0, 0, 0, 0, 0]);
  const wanted = ipv4Bytes(ip);
  const reply = nl.query(message(RTM_GETADDR, NLM_F_DUMP, header), "list addresses").find((r) => parseAttrs(r.payload, IFADDRMSG_SIZE).get(IFA_LOCAL)?.equals(wanted));
  return reply?.payload.readUInt32LE(4);
}

/** Deletes the link (a veth: both of its ends). */
export function deleteLink(nl: NetlinkSocket, index: number, name: string): void {
  nl.request([message(RTM_DELLINK, 0, ifinfo(index))], () => ["delete link", name]);
}

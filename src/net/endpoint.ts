// The container's side of a bridge network, made by its init: a veth pair whose host end joins
// the bridge and whose other end is the container's eth0, with its address and default route;
// and one more pair per network `box network connect` adds (ethN, no default route), plugged
// into a running container's namespace by the CLI.
import { close, open } from "../sys/fs.ts";
import { CLONE_NEWNET, O_RDONLY } from "../sys/constants.ts";
import { setns } from "../sys/process.ts";
import { withNetlink, NetlinkSocket, NETLINK_ROUTE } from "../sys/netlink.ts";
import { UserError } from "../container/errors.ts";
import type { Endpoint } from "../container/spec.ts";
import { addDefaultRoute, configureLink, createVeth, deleteLink, linkIndex, LinkExists, linkWithAddress } from "./links.ts";

/**
 * Docker's way: a MAC made of the address, so a restarted container keeps it and no neighbour
 * cache has to forget the old one (with a new random MAC it is cut off for up to a minute).
 */
export function macFor(ip: string): string {
  return ["02", "42", ...ip.split(".").map((o) => Number(o).toString(16).padStart(2, "0"))].join(":");
}

/** The MAC of the endpoint's link: --mac-address's, or the one made of its address. */
export function endpointMac(e: Pick<Endpoint, "ip" | "mac">): string {
  return e.mac ?? macFor(e.ip);
}

/** The endpoint's link in the container: eth0 for --network's, ethN for those network connect adds. */
export const deviceOf = (e: Pick<Endpoint, "device">) => e.device ?? "eth0";

/**
 * The host's end of container `id`'s veth pair on an endpoint (15 characters at most, like every
 * link name): veth + 11 hex of the id for eth0, veth + 8 hex + "-N" for ethN.
 */
export function hostVethName(id: string, e: Pick<Endpoint, "device">): string {
  const n = deviceOf(e).slice(3);
  return n === "0" ? `veth${id.slice(0, 11)}` : `veth${id.slice(0, 8)}-${n}`;
}

/**
 * `host` is a socket opened in the host's network namespace; the calling thread is in the
 * container's. `primary`: the endpoint of --network, which has the default route.
 */
export function connectContainer(host: NetlinkSocket, id: string, e: Endpoint, primary = true): void {
  const netns = open("/proc/thread-self/ns/net", O_RDONLY);
  try {
    // The veth of an earlier start goes with its namespace, which the kernel may still be
    // tearing down: wait for that a little. A link of that name that stays is not box's to delete.
    for (let waited = 0; ; waited += 20) {
      try {
        makeVeth(host, id, e, netns);
        break;
      } catch (err) {
        if (!(err instanceof LinkExists) || waited >= 2000) throw err;
        Bun.sleepSync(20);
      }
    }
  } finally {
    close(netns);
  }
  withNetlink(NETLINK_ROUTE, (nl) => configureLink(nl, linkIndex(nl, deviceOf(e))!, deviceOf(e), e.ip, e.prefix, primary ? e.gateway : undefined));
}

function makeVeth(host: NetlinkSocket, id: string, e: Endpoint, netns: number): void {
  const master = linkIndex(host, e.bridge);
  if (master === undefined) throw new UserError(`network ${e.network}: its bridge ${e.bridge} is gone (run a new container to make it again)`);
  createVeth(host, hostVethName(id, e), { name: deviceOf(e), mac: endpointMac(e), netnsFd: netns }, master, e.mtu);
}

/**
 * A netlink socket in the network namespace of process `pid` (a running container's init): made
 * by this thread while it is in that namespace for a moment; a socket stays in the namespace it
 * was made in.
 */
function socketIn(pid: number): { nl: NetlinkSocket; netns: number } {
  const netns = open(`/proc/${pid}/ns/net`, O_RDONLY);
  const own = open("/proc/thread-self/ns/net", O_RDONLY);
  try {
    setns(netns, CLONE_NEWNET, `network namespace of ${pid}`);
    try {
      return { nl: new NetlinkSocket(NETLINK_ROUTE), netns };
    } finally {
      setns(own, CLONE_NEWNET, "network namespace of box");
    }
  } catch (e) {
    close(netns);
    throw e;
  } finally {
    close(own);
  }
}

/**
 * `box network connect` of a running container (init `pid`): a new veth into its namespace,
 * configured (`primary`: with the default route, for a container that had no network left).
 */
export function plugIn(pid: number, id: string, e: Endpoint, primary: boolean): void {
  const { nl, netns } = socketIn(pid);
  try {
    withNetlink(NETLINK_ROUTE, (host) => makeVeth(host, id, e, netns));
    configureLink(nl, linkIndex(nl, deviceOf(e))!, deviceOf(e), e.ip, e.prefix, primary ? e.gateway : undefined);
  } finally {
    nl.close();
    close(netns);
  }
}

/**
 * `box network disconnect` of a running container: its link holding the endpoint's address goes
 * (both ends of the veth); `next`, if given, is the endpoint that has the default route now.
 */
export function unplug(pid: number, e: Endpoint, next?: Endpoint): void {
  const { nl, netns } = socketIn(pid);
  try {
    const index = linkWithAddress(nl, e.ip);
    if (index !== undefined) deleteLink(nl, index, deviceOf(e));
    const nextIndex = next && linkWithAddress(nl, next.ip);
    if (next && nextIndex !== undefined) addDefaultRoute(nl, nextIndex, next.gateway);
  } finally {
    nl.close();
    close(netns);
  }
}

// The container's side of a bridge network, made by its init: a veth pair whose host end joins
// the bridge and whose other end is the container's eth0, with its address and default route.
import { close, open } from "../sys/fs.ts";
import { O_RDONLY } from "../sys/constants.ts";
import { withNetlink, NETLINK_ROUTE, type NetlinkSocket } from "../sys/netlink.ts";
import { UserError } from "../container/errors.ts";
import type { Endpoint } from "../container/spec.ts";
import { configureLink, createVeth, linkIndex, LinkExists } from "./links.ts";

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

/** The host's end of container `id`'s veth pair (15 characters at most, like every link name). */
function hostVethName(id: string): string {
  return `veth${id.slice(0, 11)}`;
}

/**
 * `host` is a socket opened in the host's network namespace; the calling thread is in the
 * container's.
 */
export function connectContainer(host: NetlinkSocket, id: string, e: Endpoint): void {
  const master = linkIndex(host, e.bridge);
  if (master === undefined) throw new UserError(`network ${e.network}: its bridge ${e.bridge} is gone (run a new container to make it again)`);
  const netns = open("/proc/thread-self/ns/net", O_RDONLY);
  try {
    // The veth of an earlier start goes with its namespace, which the kernel may still be
    // tearing down: wait for that a little. A link of that name that stays is not box's to delete.
    for (let waited = 0; ; waited += 20) {
      try {
        createVeth(host, hostVethName(id), { name: "eth0", mac: endpointMac(e), netnsFd: netns }, master, e.mtu);
        break;
      } catch (err) {
        if (!(err instanceof LinkExists) || waited >= 2000) throw err;
        Bun.sleepSync(20);
      }
    }
  } finally {
    close(netns);
  }
  withNetlink(NETLINK_ROUTE, (nl) => configureLink(nl, linkIndex(nl, "eth0")!, "eth0", e.ip, e.prefix, e.gateway));
}

// Published host ports: a claim file per protocol and port in the store (O_EXCL), a look at the
// rules of every store in box's nftables table, and a test bind() against the host's own
// listeners; after the container's rules are in, the earliest rule for a port wins, so two
// stores publishing one port at the same moment cannot both keep it.
import { close, isErrno, mkdirs, readFile, unlink, writeFileExclusive } from "../sys/fs.ts";
import { Errno, SyscallError } from "../sys/errors.ts";
import { check, errno, libc } from "../sys/libc.ts";
import { join } from "../path.ts";
import { UserError } from "../container/errors.ts";
import type { PortSpec } from "../container/spec.ts";
import { giveBack } from "./ipam.ts";
import { ipv4Bytes } from "./ipv4.ts";
import { tableRules } from "./nftables.ts";
import { AF_INET, SOCK_CLOEXEC, SOCK_DGRAM, SOCK_STREAM } from "../sys/constants.ts";

export const containerTag = (id: string) => `box container ${id}`;
/**
 * A published port's rules say whose, which port, and on which bridge: "box container ID tcp/8080
 * box0" (the bridge tells a dead store's rules, whose containers no store knows any more).
 */
export const portTag = (id: string, p: PortSpec, bridge: string) => `${containerTag(id)} ${p.protocol}/${p.hostPort} ${bridge}`;

/** Whether a rule's tag is a published port's on `bridge`. */
export const isPortRuleOn = (tag: string, bridge: string) => tag.startsWith("box container ") && tag.split(" ")[4] === bridge;

const portFile = (dir: string, p: PortSpec) => join(dir, `${p.protocol}-${p.hostPort}`);
const shown = (p: PortSpec) => `${p.hostIp ?? "0.0.0.0"}:${p.hostPort}/${p.protocol}`;

type Rules = ReturnType<typeof tableRules>;

/** The containers whose rules publish this host port, earliest rule first, in any store. */
function publishers(p: PortSpec, rules: Rules): string[] {
  const port = `${p.protocol}/${p.hostPort}`;
  return rules
    .filter((r) => r.tag.startsWith("box container ") && r.tag.split(" ")[3] === port)
    .sort((a, b) => (a.handle < b.handle ? -1 : 1))
    .map((r) => r.tag.split(" ")[2]!);
}

/** Binds the host port for a moment: a program of the host listening there already would never get its traffic. */
function checkHostPort(p: PortSpec): void {
  const fd = check(libc.socket(AF_INET, (p.protocol === "tcp" ? SOCK_STREAM : SOCK_DGRAM) | SOCK_CLOEXEC, 0), "socket");
  try {
    const addr = Buffer.alloc(16);
    addr.writeUInt16LE(AF_INET, 0);
    addr.writeUInt16BE(p.hostPort, 2);
    ipv4Bytes(p.hostIp ?? "0.0.0.0").copy(addr, 4);
    if (libc.bind(fd, addr, 16) === 0) return;
    const e = errno();
    if (e === Errno.EADDRINUSE) throw new UserError(`bind for ${shown(p)} failed: port is already in use on the host`);
    if (e === Errno.EADDRNOTAVAIL) throw new UserError(`bind for ${shown(p)} failed: the host has no address ${p.hostIp}`);
    throw new SyscallError("bind", e, shown(p));
  } finally {
    close(fd);
  }
}

/** Claims one host port for the container; `rules`: box's table as it was read once for the claims. */
function claimPort(dir: string, p: PortSpec, id: string, rules: Rules): void {
  const owner = publishers(p, rules)[0];
  if (owner !== undefined && owner !== id) throw new UserError(`bind for ${shown(p)} failed: port is already allocated to container ${owner.slice(0, 12)}`);
  try {
    writeFileExclusive(portFile(dir, p), id, 0o600);
  } catch (e) {
    if (isErrno(e, Errno.EEXIST)) throw new UserError(`bind for ${shown(p)} failed: port is already allocated to container ${readFile(portFile(dir, p)).slice(0, 12)}`);
    throw e;
  }
  try {
    checkHostPort(p);
  } catch (e) {
    unlink(portFile(dir, p));
    throw e;
  }
}

/** Docker's range for ports it picks (the kernel's default ephemeral range). */
const FIRST_FREE_PORT = 32768;
const LAST_FREE_PORT = 60999;

/**
 * A free host port for `p`: of its range (-p 8080-8081:80), tried in order, as Docker's; else
 * (hostPort 0) of Docker's range, tried from a random place in it on.
 */
function claimAnyPort(dir: string, p: PortSpec, id: string, rules: Rules): PortSpec {
  const { hostPortEnd, ...port } = p;
  const [first, last] = hostPortEnd === undefined ? [FIRST_FREE_PORT, LAST_FREE_PORT] : [p.hostPort, hostPortEnd];
  const span = last - first + 1;
  const start = hostPortEnd === undefined ? Math.floor(Math.random() * span) : 0;
  for (let i = 0; i < span; i++) {
    const chosen = { ...port, hostPort: first + ((start + i) % span) };
    try {
      claimPort(dir, chosen, id, rules);
      return chosen;
    } catch (e) {
      if (!(e instanceof UserError)) throw e;
    }
  }
  throw new UserError(`no free host port left for ${p.containerPort}/${p.protocol} (${first}-${last})`);
}

/** Claims the ports (choosing those given as 0 or as a range) in the store's port directory; all, or none. */
export function claimPorts(dir: string, ports: PortSpec[], id: string): PortSpec[] {
  if (!ports.length) return [];
  mkdirs(dir, 0o700);
  const rules = tableRules();
  const claimed: PortSpec[] = [];
  try {
    for (const p of ports) claimed.push(p.hostPort === 0 || p.hostPortEnd !== undefined ? claimAnyPort(dir, p, id, rules) : (claimPort(dir, p, id, rules), p));
    return claimed;
  } catch (e) {
    releasePorts(dir, claimed, id);
    throw e;
  }
}

/** Once the container's rules are in: a port whose earliest rule is another container's was lost to it. */
export function checkPortsWon(ports: PortSpec[], id: string): void {
  if (!ports.length) return;
  const rules = tableRules();
  for (const p of ports) {
    const first = publishers(p, rules)[0];
    if (first !== undefined && first !== id) throw new UserError(`bind for ${shown(p)} failed: port is already allocated to container ${first.slice(0, 12)}`);
  }
}

export function releasePorts(dir: string, ports: PortSpec[], id: string): void {
  for (const p of ports) giveBack(portFile(dir, p), id);
}

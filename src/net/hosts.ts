// Name resolution on user-defined networks, through /etc/hosts (box has no daemon to answer DNS):
// a container starts with a line for every other container of its networks, and the running ones
// get a line for it when it joins and lose it when it leaves. The other containers' /etc/hosts is
// reached through /proc/PID/root, resolved with openat2(RESOLVE_IN_ROOT) and opened only once it
// is known to be a regular file: whatever a container puts there instead (a symlink out, a FIFO,
// a device node) stays inside its own root and is never opened by the host.
import { close, open, readdir, readFile, readFileInRoot, writeFileInRoot } from "../sys/fs.ts";
import { O_DIRECTORY, O_RDONLY } from "../sys/constants.ts";
import { join } from "../path.ts";
import { containerConfig, type Store } from "../container/store.ts";
import { stateInit } from "../container/live.ts";
import { UserError } from "../container/errors.ts";
import { endpointsOf } from "../container/spec.ts";

interface Peer {
  id: string;
  name: string;
  ip: string;
  /** --network-alias: more names of it on this network. */
  aliases?: string[];
  /** --mac-address's, if it was given. */
  mac?: string;
}

/** --network-alias, --alias: a name for /etc/hosts lines, a hostname's characters (and _), nothing a line could be split at. */
export function parseAlias(flag: string, text: string): string {
  if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,252}$/.test(text)) throw new UserError(`invalid ${flag} "${text}": letters, digits and _ . - (not first)`);
  return text;
}

export const hostsLine = (p: Pick<Peer, "ip" | "name" | "aliases">) => `${p.ip}\t${[p.name, ...(p.aliases ?? [])].join(" ")}`;

/** The containers holding a lease in the lease directory, but `self`: their ids and addresses. */
export function leaseHolders(leases: string, self: string): Array<Pick<Peer, "id" | "ip">> {
  return readdir(leases).flatMap((ip) => {
    try {
      const id = readFile(join(leases, ip));
      return id === self ? [] : [{ id, ip }];
    } catch {
      return []; // released meanwhile
    }
  });
}

/** The lease holders with their names as they are now (a container may have been renamed), their aliases and MACs. */
export function peers(store: Store, leases: string, self: string): Peer[] {
  return leaseHolders(leases, self).flatMap((h) => {
    try {
      const spec = containerConfig(store, h.id);
      const e = endpointsOf(spec).find((x) => x.ip === h.ip);
      return [{ ...h, name: spec.name, ...(e?.aliases ? { aliases: e.aliases } : {}), ...(e?.mac ? { mac: e.mac } : {}) }];
    } catch {
      return []; // removed meanwhile
    }
  });
}

/** Rewrites one running container's /etc/hosts; a container that is gone or hostile is skipped. */
function editHosts(store: Store, id: string, proc: string, edit: (text: string) => { append: string } | { replace: string }): void {
  const pid = stateInit(store, id, proc);
  if (pid === undefined) return;
  let root: number | undefined;
  try {
    root = open(`${proc}/${pid}/root`, O_RDONLY | O_DIRECTORY);
    const change = edit(readFileInRoot(root, "/etc/hosts"));
    if ("append" in change) writeFileInRoot(root, "/etc/hosts", change.append, true);
    else writeFileInRoot(root, "/etc/hosts", change.replace);
  } catch {
    // Exited meanwhile, or its /etc/hosts is no regular file: nothing to keep current.
  } finally {
    if (root !== undefined) close(root);
  }
}

const withoutLinesOf = (text: string, ips: string[]) => ({ replace: text.split("\n").filter((l) => !ips.some((ip) => l.startsWith(`${ip}\t`))).join("\n") });

/** Tells the running holders of `leases` that `self` is on the network now. */
export function announce(store: Store, leases: string, self: Peer): void {
  for (const p of leaseHolders(leases, self.id)) editHosts(store, p.id, "/proc", () => ({ append: `${hostsLine(self)}\n` }));
}

/** Takes the line of container `id` (address `ip`) out of the running holders' /etc/hosts (whatever its name became since). */
export function withdraw(store: Store, leases: string, id: string, ip: string, proc: string): void {
  for (const p of leaseHolders(leases, id)) editHosts(store, p.id, proc, (text) => withoutLinesOf(text, [ip]));
}

/** Adds lines to a running container's own /etc/hosts (the members of a network it joins now). */
export function learn(store: Store, id: string, lines: string[]): void {
  if (lines.length) editHosts(store, id, "/proc", () => ({ append: lines.map((l) => `${l}\n`).join("") }));
}

/** Takes the lines of these addresses out of a running container's own /etc/hosts (a network it leaves). */
export function forget(store: Store, id: string, ips: string[]): void {
  if (ips.length) editHosts(store, id, "/proc", (text) => withoutLinesOf(text, ips));
}

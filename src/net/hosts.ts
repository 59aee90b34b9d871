// Name resolution on user-defined networks, through /etc/hosts (box has no daemon to answer DNS):
// a container starts with a line for every other container of its networks, and the running ones
// get a line for it when it joins and lose it when it leaves. The other containers' /etc/hosts is
// reached through /proc/PID/root, resolved with openat2(RESOLVE_IN_ROOT) and opened only once it
// is known to be a regular file: whatever a container puts there instead (a symlink out, a FIFO,
// a device node) stays inside its own root and is never opened by the host.
import { close, exists, open, readdir, readFile, readFileInRoot, writeFileInRoot } from "../sys/fs.ts";
import { O_DIRECTORY, O_RDONLY } from "../sys/constants.ts";
import { join } from "../path.ts";
import { layout, readConfig, type Store } from "../container/store.ts";
import { stateInit } from "../container/live.ts";

export interface Peer {
  id: string;
  name: string;
  ip: string;
}

export const hostsLine = (p: Pick<Peer, "ip" | "name">) => `${p.ip}\t${p.name}`;

/** The containers holding a lease in the lease directory, but `self`. */
export function peers(store: Store, leases: string, self: string): Peer[] {
  if (!exists(leases)) return [];
  return readdir(leases).flatMap((ip) => {
    try {
      const id = readFile(join(leases, ip));
      if (id === self) return [];
      return [{ id, ip, name: readConfig(join(store.root, layout.container(id))).name }];
    } catch {
      return []; // released meanwhile
    }
  });
}

/** Rewrites one running container's /etc/hosts; a container that is gone or hostile is skipped. */
function editHosts(store: Store, peer: Peer, proc: string, edit: (text: string) => { append: string } | { replace: string }): void {
  const pid = stateInit(store, peer.id, proc);
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

/** Tells the running peers that `self` is on the network now. */
export function announce(store: Store, all: Peer[], self: Peer, proc = "/proc"): void {
  for (const p of all) editHosts(store, p, proc, () => ({ append: `${hostsLine(self)}\n` }));
}

/** Takes the line of the container with address `ip` out of the running peers' /etc/hosts (whatever its name became since). */
export function withdraw(store: Store, all: Peer[], ip: string, proc = "/proc"): void {
  for (const p of all) editHosts(store, p, proc, (text) => ({ replace: text.split("\n").filter((l) => !l.startsWith(`${ip}\t`)).join("\n") }));
}

// User namespaces in podman's terms: --userns=host|auto[:size=N], --uidmap/--gidmap
// CONTAINER:HOST:SIZE. Checked into a UsernsSpec once; the ids of an `auto` range are leased
// from box's pool at create and go with the container's directory.
import { UserError } from "../container/errors.ts";
import { close, fchown, open, readFile, writeFile, withLockFile } from "../sys/fs.ts";
import { O_CLOEXEC, O_NOFOLLOW, O_RDONLY } from "../sys/constants.ts";
import { layout, listContainerIds, type Store } from "../container/store.ts";
import { join } from "../path.ts";
import type { IdRange } from "../sys/userns.ts";

export interface UsernsSpec {
  /** auto: a range box leases at create (given back with the container); map: --uidmap/--gidmap. */
  mode: "auto" | "map";
  /** auto: how many ids; the maps are empty until create leases them (leaseIdRange). */
  size?: number;
  uidMap: IdRange[];
  gidMap: IdRange[];
}

const MAX_ID = 4294967295; // (uid_t)-1 is no id
const MAX_LINES = 340; // the kernel's limit for one map
const BLOCK = 65536;

/**
 * box's pool for --userns=auto: host ids from 10^9 up, in blocks of 65536 (16384 of them). Far
 * above the ranges useradd hands out in /etc/subuid (100000–600100000) and below 2^31, which
 * some tools still read as signed.
 */
const POOL = { start: 1_000_000_000, blocks: 16384 };

function idNumber(text: string, what: string): number {
  if (!/^\d{1,10}$/.test(text) || Number(text) >= MAX_ID) throw new UserError(`${what}: "${text}" is not an id (0 to ${MAX_ID - 1})`);
  return Number(text);
}

/** CONTAINER:HOST:SIZE, as podman's --uidmap. */
function parseRange(text: string, flag: string): IdRange {
  const parts = text.split(":");
  if (parts.length !== 3) throw new UserError(`invalid ${flag} "${text}": expected CONTAINER:HOST:SIZE`);
  const [container, host, size] = parts.map((p) => idNumber(p, `invalid ${flag} "${text}"`)) as [number, number, number];
  if (size < 1) throw new UserError(`invalid ${flag} "${text}": the size must be at least 1`);
  if (container + size > MAX_ID || host + size > MAX_ID) throw new UserError(`invalid ${flag} "${text}": the range goes past id ${MAX_ID - 1}`);
  return { container, host, size };
}

export function checkMap(ranges: IdRange[], flag: string): void {
  if (ranges.length > MAX_LINES) throw new UserError(`too many ${flag} ranges (${ranges.length}); the kernel takes ${MAX_LINES}`);
  for (const side of ["container", "host"] as const) {
    const sorted = [...ranges].sort((a, b) => a[side] - b[side]);
    for (let i = 1; i < sorted.length; i++) {
      if (sorted[i - 1]![side] + sorted[i - 1]!.size > sorted[i]![side]) throw new UserError(`${flag} ranges overlap on the ${side} side`);
    }
  }
}

/** --userns, --uidmap, --gidmap → what the container gets; undefined: the host's user namespace. */
export function parseUserns(mode: string | undefined, uidmaps: string[], gidmaps: string[]): UsernsSpec | undefined {
  if (uidmaps.length || gidmaps.length) {
    if (mode !== undefined && mode !== "") throw new UserError(`--userns=${mode} cannot be used with --uidmap or --gidmap`);
    if (!uidmaps.length) throw new UserError("--gidmap needs --uidmap");
    const uidMap = uidmaps.map((t) => parseRange(t, "--uidmap"));
    // As podman: without --gidmap the groups are mapped as the users are.
    const gidMap = gidmaps.length ? gidmaps.map((t) => parseRange(t, "--gidmap")) : uidMap;
    checkMap(uidMap, "--uidmap");
    checkMap(gidMap, "--gidmap");
    return { mode: "map", uidMap, gidMap };
  }
  if (mode === undefined || mode === "" || mode === "host") return undefined;
  const m = /^auto(?::size=(\d{1,10}))?$/.exec(mode);
  if (!m) throw new UserError(`invalid --userns "${mode}": host, auto or auto:size=N`);
  const size = m[1] === undefined ? BLOCK : Number(m[1]);
  if (size < 1 || size > POOL.blocks * BLOCK) throw new UserError(`invalid --userns "${mode}": the size must be 1 to ${POOL.blocks * BLOCK}`);
  return { mode: "auto", size, uidMap: [], gidMap: [] };
}

/** The host id that `id` inside maps to, or undefined when it is not mapped. */
export function hostId(ranges: IdRange[], id: number): number | undefined {
  const r = ranges.find((x) => id >= x.container && id < x.container + x.size);
  return r && r.host + (id - r.container);
}

/**
 * A rootless container's ids as its init sees them, from inside the user namespace it runs in:
 * root is the only one.
 */
const ROOTLESS_IDS: UsernsSpec = { mode: "map", uidMap: [{ container: 0, host: 0, size: 1 }], gidMap: [{ container: 0, host: 0, size: 1 }] };

/** The ids box gives files and mounts of the container, as the init names them (see hostOwner). */
export function initIds(spec: { rootless?: boolean; userns?: UsernsSpec }): UsernsSpec | undefined {
  return spec.userns ?? (spec.rootless ? ROOTLESS_IDS : undefined);
}

/** uid_t -1: fchown leaves that id as it is. */
const UNCHANGED = 0xffffffff;

/**
 * What fchown takes for a container's uid and gid: themselves without a user namespace, else
 * their host ids (one the maps leave out stays unchanged).
 */
export function hostOwner(userns: UsernsSpec | undefined, uid: number, gid: number): [number, number] {
  if (!userns) return [uid, gid];
  return [hostId(userns.uidMap, uid) ?? UNCHANGED, hostId(userns.gidMap, gid) ?? UNCHANGED];
}

/** Gives a file or directory that box made for the container to the container's root. */
export function ownByContainerRoot(path: string, userns: UsernsSpec): void {
  const fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  try {
    fchown(fd, ...hostOwner(userns, 0, 0));
  } finally {
    close(fd);
  }
}

const LEASE = "userns";

/**
 * Leases `size` host ids (whole blocks) from the pool for container `dir` (which exists): a file
 * in that directory, so the lease goes with it whoever removes it (box rm, an --rm init, the
 * watcher). Chosen under the store's lock, against every other container's lease.
 */
export function leaseIdRange(store: Store, dir: string, userns: UsernsSpec): void {
  const size = userns.size ?? BLOCK;
  withLockFile(join(store.root, "userns.lock"), () => {
    const taken = new Set<number>();
    for (const id of listContainerIds(store)) {
      let text: string;
      try {
        text = readFile(join(store.root, layout.container(id), LEASE));
      } catch {
        continue;
      }
      const [first, count] = text.split(" ").map(Number) as [number, number];
      for (let b = first; b < first + count; b++) taken.add(b);
    }
    const need = Math.ceil(size / BLOCK);
    for (let b = 0; b + need <= POOL.blocks; b++) {
      let free = true;
      for (let k = b; k < b + need && free; k++) free = !taken.has(k);
      if (!free) continue;
      writeFile(join(dir, LEASE), `${b} ${need}`, { mode: 0o600 });
      userns.uidMap = userns.gidMap = [{ container: 0, host: POOL.start + b * BLOCK, size }];
      return;
    }
    throw new UserError(`--userns=auto: no ${need * BLOCK} free ids left in box's pool`);
  });
}

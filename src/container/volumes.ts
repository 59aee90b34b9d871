// Volumes of the local driver, as Docker keeps them: a directory per volume under the store,
// `_data` for the data and `config.json` for the record (name, labels, options, when made).
// A volume is made on first use or by `box volume create`, and removed only by `volume rm` or
// `prune`, or, made anonymous for one container, with that container (`rm -v`, `run --rm`).
import { exists, isErrno, mkdir, mkdirs, readFile, readdirIfExists, removeTree, writeFileExclusive } from "../sys/fs.ts";
import { MS_RDONLY } from "../sys/constants.ts";
import { FLAGS } from "../oci/mount-options.ts";
import { ownByContainerRoot } from "../security/userns.ts";
import { join } from "../path.ts";
import { Errno } from "../sys/errors.ts";
import { randomHex } from "../random.ts";
import { UserError } from "./errors.ts";
import { listContainers } from "./lookup.ts";
import type { ContainerSpec, TmpfsSpec } from "./spec.ts";
import type { Store } from "./store.ts";

const VOLUMES = "volumes";
const DATA = "_data";

/** Docker's rule for a volume's name. */
export const VOLUME_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;

/** The local driver's options (`-o`): a filesystem to mount instead of the directory. */
export interface VolumeOptions {
  type?: string;
  device?: string;
  o?: string;
}

export interface VolumeRecord {
  Name: string;
  Driver: "local";
  CreatedAt: string;
  Labels: Record<string, string>;
  Options: VolumeOptions;
  /** Made for one container (`-v /path`, an image's VOLUME), not named by anyone. */
  Anonymous?: boolean;
}

export class NoSuchVolume extends UserError {
  constructor(name: string) {
    super(`no such volume: ${name}`);
  }
}

export function volumeDir(store: Pick<Store, "root">, name: string): string {
  return join(store.root, VOLUMES, name);
}

export function volumeData(store: Pick<Store, "root">, name: string): string {
  return join(volumeDir(store, name), DATA);
}

export function anonymousVolumeName(): string {
  return randomHex(32);
}

export function validateVolumeName(name: string): string {
  if (!VOLUME_NAME.test(name) || name.length > 255) throw new UserError(`invalid volume name "${name}": only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed, at least 2 characters`);
  return name;
}

/**
 * Makes the volume unless it is there; returns its record and whether this call made it. Two
 * makers at once: the directory is made exclusively, the record written once, and the loser
 * reads the winner's.
 */
export function ensureVolume(store: Store, name: string, fields: Pick<VolumeRecord, "Labels" | "Options"> & { Anonymous?: boolean } = { Labels: {}, Options: {} }): { record: VolumeRecord; made: boolean } {
  const dir = volumeDir(store, name);
  mkdirs(join(store.root, VOLUMES), 0o700);
  try {
    mkdir(dir, 0o700);
  } catch (e) {
    if (!isErrno(e, Errno.EEXIST)) throw e;
    return { record: waitForRecord(store, name), made: false };
  }
  const record: VolumeRecord = { Name: name, Driver: "local", CreatedAt: new Date().toISOString(), Labels: fields.Labels, Options: fields.Options, ...(fields.Anonymous ? { Anonymous: true } : {}) };
  try {
    mkdir(join(dir, DATA), 0o755);
    writeFileExclusive(join(dir, "config.json"), `${JSON.stringify(record)}\n`, 0o600);
  } catch (e) {
    removeTree(dir);
    throw e;
  }
  return { record, made: true };
}

/** The record another maker is about to write (it has made the directory, not yet the record). */
function waitForRecord(store: Store, name: string): VolumeRecord {
  for (let i = 0; ; i++) {
    try {
      return readVolume(store, name);
    } catch (e) {
      if (!(e instanceof NoSuchVolume) || i >= 100) throw e;
      Bun.sleepSync(5);
    }
  }
}

export function readVolume(store: Pick<Store, "root">, name: string): VolumeRecord {
  // A name is never a path: `../containers/ID` names no volume (and nothing outside volumes/).
  if (!VOLUME_NAME.test(name)) throw new NoSuchVolume(name);
  let text: string;
  try {
    text = readFile(join(volumeDir(store, name), "config.json"));
  } catch (e) {
    if (isErrno(e, Errno.ENOENT) || isErrno(e, Errno.ENOTDIR)) throw new NoSuchVolume(name);
    throw e;
  }
  return JSON.parse(text) as VolumeRecord;
}

export function listVolumes(store: Pick<Store, "root">): VolumeRecord[] {
  return readdirIfExists(join(store.root, VOLUMES)).flatMap((name) => {
    try {
      return [readVolume(store, name)];
    } catch {
      // Being made or removed right now.
      return [];
    }
  });
}

/** The containers (running or not) that mount the volume. */
export function volumeUsers(store: Store, name: string, containers: ContainerSpec[] = listContainers(store)): ContainerSpec[] {
  return containers.filter((c) => c.volumes.some((v) => v.volume === name) || (c.tmpfs ?? []).some((t) => t.volume === name));
}

/** Refused while a container uses it (Docker's words); `--force` does not change that, as in Docker. */
export function removeVolume(store: Store, name: string): void {
  readVolume(store, name);
  const users = volumeUsers(store, name);
  if (users.length) throw new UserError(`remove ${name}: volume is in use - [${users.map((c) => c.id).join(", ")}]`);
  removeTree(volumeDir(store, name));
}

/**
 * Removes the volumes no container uses: anonymous ones, or with `all` named ones too. `measure`
 * sizes each data directory before it goes (what `prune` reports as reclaimed).
 */
export function pruneVolumes(store: Store, all: boolean, measure: (dir: string) => number = () => 0): { removed: VolumeRecord[]; bytes: number } {
  const containers = listContainers(store);
  let bytes = 0;
  const removed = listVolumes(store).filter((v) => (all || v.Anonymous) && volumeUsers(store, v.Name, containers).length === 0).map((v) => {
    bytes += measure(volumeData(store, v.Name));
    removeTree(volumeDir(store, v.Name));
    return v;
  });
  return { removed, bytes };
}

/**
 * Makes the container's volumes that are not there yet (named ones on first use, its anonymous
 * ones) and fills in where each comes from: the volume's data, a bind volume's device, or, for a
 * tmpfs volume, a tmpfs of the container's own.
 */
export function prepareVolumes(store: Store, spec: ContainerSpec): void {
  const tmpfs: TmpfsSpec[] = [];
  spec.volumes = spec.volumes.filter((v) => {
    if (v.volume === undefined) return true;
    const { record, made } = ensureVolume(store, v.volume, { Labels: v.create?.labels ?? {}, Options: v.create?.options ?? {}, ...(v.anonymous ? { Anonymous: true } : {}) });
    delete v.create;
    // A volume a container in a user namespace makes is its root's, as Docker's remap has it.
    if (made && spec.userns && record.Options.type === undefined) ownByContainerRoot(volumeData(store, v.volume), spec.userns);
    if (record.Options.type === "tmpfs") {
      const words = (record.Options.o ?? "").split(",").filter(Boolean);
      const flags = words.filter((w) => w in FLAGS).reduce((f, w) => (f | FLAGS[w]![0]) & ~FLAGS[w]![1], v.readOnly ? MS_RDONLY : 0);
      tmpfs.push({ target: v.target, volume: v.volume, flags, data: words.filter((w) => !(w in FLAGS)).join(",") });
      return false;
    }
    if (record.Options.type === "none") {
      if (!exists(record.Options.device!)) throw new UserError(`volume ${v.volume}: its device ${record.Options.device} does not exist`);
      v.source = record.Options.device!;
    } else v.source = volumeData(store, v.volume);
    return true;
  });
  if (tmpfs.length) spec.tmpfs = [...(spec.tmpfs ?? []), ...tmpfs];
}

/** Removes the anonymous volumes the container made, unless another container mounts one too (--volumes-from). */
export function removeAnonymousVolumes(store: Store, spec: Pick<ContainerSpec, "id" | "volumes">): void {
  const others = listContainers(store).filter((c) => c.id !== spec.id);
  for (const v of spec.volumes) {
    if (!v.anonymous || !v.volume || volumeUsers(store, v.volume, others).length) continue;
    removeTree(volumeDir(store, v.volume));
  }
}

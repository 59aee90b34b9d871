// -v, --mount, --tmpfs and --volumes-from → the container's volumes and tmpfs mounts, with
// Docker's syntax, defaults and errors.
import { stat } from "../sys/fs.ts";
import { isAbsolute, normalize, resolve } from "../path.ts";
import { MS_NODEV, MS_NOEXEC, MS_NOSUID } from "../sys/constants.ts";
import { UserError } from "../container/errors.ts";
import type { ContainerSpec, TmpfsSpec, VolumeSpec } from "../container/spec.ts";
import { FLAGS, PROPAGATION } from "../oci/mount-options.ts";
import { parseBytes } from "./resources.ts";
import { anonymousVolumeName, VOLUME_NAME } from "../container/volumes.ts";
import { commaFields, parseLabels, parseVolumeOptions } from "./labels.ts";

/** Docker 23+: a source that is a path (absolute, or `.`/`..` first) is the host's; a name would be a volume. */
function isHostPath(source: string): boolean {
  return isAbsolute(source) || source === "." || source === ".." || source.startsWith("./") || source.startsWith("../");
}

function checkTarget(what: string, target: string): string {
  if (!isAbsolute(target)) throw new UserError(`invalid ${what}: container path must be absolute: "${target}"`);
  if (normalize(target) === "/") throw new UserError(`invalid ${what}: cannot mount over /`);
  return normalize(target);
}

function hostSource(what: string, source: string): string {
  const path = resolve(source);
  try {
    stat(path);
  } catch {
    // Podman's choice, not Docker's silent mkdir on the host: see the README's differences.
    throw new UserError(`invalid ${what}: bind source path does not exist: ${path}`);
  }
  return path;
}

/** SELinux relabelling (z, Z), copy-up and macOS consistency are taken: nothing to do on a host without them. */
const IGNORED_OPTIONS = ["z", "Z", "nocopy", "consistent", "cached", "delegated"];

function isVolumeOption(o: string): boolean {
  return o === "ro" || o === "rw" || (o in PROPAGATION && !o.includes("unbindable")) || IGNORED_OPTIONS.includes(o);
}

/**
 * A volume mount: named (made on first use), or anonymous (made for this container, a random
 * name). Its source is the volume's data, filled in when the container is created.
 */
function volumeMount(what: string, name: string | undefined, target: string): VolumeSpec {
  if (name !== undefined && !VOLUME_NAME.test(name)) throw new UserError(`invalid ${what}: "${name}" is neither a host path (absolute, or starting with ./ or ../) nor a volume name ([a-zA-Z0-9][a-zA-Z0-9_.-]+)`);
  return { source: "", target: checkTarget(what, target), readOnly: false, volume: name ?? anonymousVolumeName(), copyUp: true, ...(name === undefined ? { anonymous: true } : {}) };
}

/**
 * -v [SOURCE:]TARGET[:OPTIONS]: SOURCE a host path or a volume's name, none for an anonymous
 * volume; OPTIONS a comma list of ro|rw, a propagation, nocopy (a volume's), z|Z, consistency.
 */
export function parseVolume(text: string): VolumeSpec {
  const what = `volume "${text}"`;
  const parts = text.split(":");
  if (parts.length > 3 || parts.some((p) => p === "")) throw new UserError(`invalid ${what}: expected [HOST:|VOLUME:]CONTAINER[:OPTIONS]`);
  // One part, or TARGET:OPTIONS: an anonymous volume.
  const anonymous = parts.length === 1 || (parts.length === 2 && isAbsolute(parts[0]!) && parts[1]!.split(",").every(isVolumeOption));
  const [source, target, options = ""] = (anonymous ? [undefined, ...parts] : parts) as [string | undefined, string, string?];
  const volume = source !== undefined && isHostPath(source) ? { source: "", target: checkTarget(what, target), readOnly: false } : volumeMount(what, source, target);
  for (const o of options.split(",").filter(Boolean)) {
    if (!isVolumeOption(o)) throw new UserError(`invalid ${what}: unknown mode "${o}" (ro, rw, nocopy, shared, slave, private and their r- forms)`);
    if (o === "ro" || o === "rw") volume.readOnly = o === "ro";
    else if (o in PROPAGATION) volume.propagation = PROPAGATION[o];
    else if (o === "nocopy" && volume.volume !== undefined) volume.copyUp = false;
  }
  if (volume.volume === undefined) volume.source = hostSource(what, source!);
  return volume;
}

/** An image's VOLUME paths not mounted otherwise: an anonymous volume each, with the image's content (Docker's). */
export function imageVolumes(paths: string[], taken: string[]): VolumeSpec[] {
  return paths.map((p) => normalize(p)).filter((p) => p !== "/" && !taken.includes(p)).map((p) => volumeMount(`the image's VOLUME "${p}"`, undefined, p));
}

/** Docker's defaults for a tmpfs: no programs, no setuid, no devices; the options given win. */
const TMPFS_DEFAULT = MS_NOSUID | MS_NODEV | MS_NOEXEC;
const TMPFS_DATA = /^(size=\d+[kmg%]?|nr_inodes=\d+[kmg]?|nr_blocks=\d+[kmg]?|mode=[0-7]{1,4}|uid=\d+|gid=\d+|huge=(never|always|within_size|advise)|mpol=[a-z:0-9,-]+)$/i;

function tmpfsOptions(what: string, options: string[]): { flags: number; data: string[] } {
  let flags = TMPFS_DEFAULT;
  const data: string[] = [];
  for (const o of options) {
    const f = FLAGS[o];
    if (f && o !== "bind" && o !== "rbind") flags = (flags | f[0]) & ~f[1];
    else if (TMPFS_DATA.test(o)) data.push(o);
    else throw new UserError(`invalid ${what}: unknown tmpfs option "${o}"`);
  }
  return { flags, data };
}

/** --tmpfs PATH[:OPTIONS] (mount(8)'s tmpfs options, comma separated). */
export function parseTmpfs(text: string): TmpfsSpec {
  const colon = text.indexOf(":");
  const what = `--tmpfs "${text}"`;
  const target = checkTarget(what, colon < 0 ? text : text.slice(0, colon));
  const { flags, data } = tmpfsOptions(what, colon < 0 ? [] : text.slice(colon + 1).split(",").filter(Boolean));
  return { target, flags, data: data.join(",") };
}

export type MountArg = { kind: "bind"; volume: VolumeSpec } | { kind: "tmpfs"; tmpfs: TmpfsSpec };

const MOUNT_KEYS = {
  common: ["type", "source", "src", "target", "destination", "dst", "readonly", "ro", "consistency"],
  bind: ["bind-propagation", "bind-nonrecursive", "bind-recursive"],
  tmpfs: ["tmpfs-size", "tmpfs-mode"],
  volume: ["volume-nocopy", "volume-opt", "volume-subpath", "volume-driver", "volume-label"],
};

function mountBool(what: string, key: string, value: string | undefined): boolean {
  if (value === undefined || value === "true" || value === "1") return true;
  if (value === "false" || value === "0") return false;
  throw new UserError(`invalid ${what}: invalid value for ${key}: ${value}`);
}

/** --mount type=bind|tmpfs|volume,KEY=VALUE,... as Docker's (volumes come with `box volume`). */
export function parseMount(text: string): MountArg {
  const what = `--mount "${text}"`;
  const fields = new Map<string, string | undefined>();
  // volume-opt and volume-label may repeat (volume-opt=type=tmpfs,volume-opt=o=size=64m).
  const repeated: Record<string, string[]> = { "volume-opt": [], "volume-label": [] };
  for (const [name, value] of commaFields(text)) {
    const key = name.toLowerCase();
    if (key === "") throw new UserError(`invalid ${what}: empty field`);
    if (key in repeated) repeated[key]!.push(value ?? name);
    fields.set(key, value);
  }
  const type = fields.get("type") ?? "volume";
  if (type !== "bind" && type !== "tmpfs" && type !== "volume") throw new UserError(`invalid ${what}: unknown mount type "${type}" (bind, volume or tmpfs)`);
  const known = [...MOUNT_KEYS.common, ...MOUNT_KEYS[type]];
  const source = fields.get("source") ?? fields.get("src");
  const target = fields.get("target") ?? fields.get("destination") ?? fields.get("dst");
  for (const key of fields.keys()) {
    if (!known.includes(key)) throw new UserError(`invalid ${what}: unexpected key "${key}" for a ${type} mount`);
  }
  if (!target) throw new UserError(`invalid ${what}: target is required`);
  const readOnly = fields.has("readonly") ? mountBool(what, "readonly", fields.get("readonly")) : fields.has("ro") ? mountBool(what, "ro", fields.get("ro")) : false;
  if (type === "volume") {
    const driver = fields.get("volume-driver");
    if (driver !== undefined && driver !== "local") throw new UserError(`invalid ${what}: volume-driver "${driver}": box has the local driver only`);
    const volume = { ...volumeMount(what, source || undefined, target), readOnly };
    if (fields.has("volume-nocopy") && mountBool(what, "volume-nocopy", fields.get("volume-nocopy"))) volume.copyUp = false;
    const subpath = fields.get("volume-subpath");
    if (subpath !== undefined) volume.subpath = checkSubpath(what, subpath);
    if (repeated["volume-opt"]!.length || repeated["volume-label"]!.length) volume.create = { options: parseVolumeOptions(repeated["volume-opt"]!), labels: parseLabels(repeated["volume-label"]!) };
    return { kind: "bind", volume };
  }
  if (type === "tmpfs") {
    if (source) throw new UserError(`invalid ${what}: a tmpfs mount takes no source`);
    const data: string[] = [];
    const size = fields.get("tmpfs-size");
    if (size !== undefined) data.push(`size=${parseBytes("--mount tmpfs-size", size)}`);
    const mode = fields.get("tmpfs-mode");
    if (mode !== undefined) {
      if (!/^[0-7]{1,4}$/.test(mode)) throw new UserError(`invalid ${what}: tmpfs-mode must be octal, like 1777`);
      data.push(`mode=${mode}`);
    }
    const options = tmpfsOptions(what, readOnly ? ["ro"] : []);
    return { kind: "tmpfs", tmpfs: { target: checkTarget(what, target), flags: options.flags, data: data.join(",") } };
  }
  if (!source) throw new UserError(`invalid ${what}: source is required for a bind mount`);
  const volume: VolumeSpec = { source: hostSource(what, source), target: checkTarget(what, target), readOnly };
  const propagation = fields.get("bind-propagation");
  if (propagation !== undefined) {
    if (!(propagation in PROPAGATION) || propagation.includes("unbindable")) throw new UserError(`invalid ${what}: bind-propagation is one of private, rprivate, shared, rshared, slave, rslave`);
    volume.propagation = PROPAGATION[propagation];
  }
  const recursive = fields.get("bind-recursive");
  if (recursive !== undefined && !["enabled", "disabled", "readonly", "writable"].includes(recursive)) throw new UserError(`invalid ${what}: bind-recursive is one of enabled, disabled, writable, readonly`);
  if (recursive === "disabled" || (fields.has("bind-nonrecursive") && mountBool(what, "bind-nonrecursive", fields.get("bind-nonrecursive")))) volume.nonRecursive = true;
  if (recursive === "writable" && readOnly) throw new UserError(`invalid ${what}: bind-recursive=writable is not supported by box (a read-only volume is read-only all the way down)`);
  return { kind: "bind", volume };
}

/** A subpath of a volume: relative, going nowhere above the volume (links in it are resolved inside it at mount time). */
function checkSubpath(what: string, subpath: string): string {
  const n = normalize(`/${subpath}`).slice(1);
  if (isAbsolute(subpath) || subpath.split("/").includes("..") || n === "") throw new UserError(`invalid ${what}: volume-subpath must be a relative path inside the volume`);
  return n;
}

/**
 * --volumes-from CONTAINER[:ro|rw]: that container's volumes, read-only with :ro. Its anonymous
 * volumes are shared, not this container's own: they go with the container that made them.
 */
export function volumesFrom(text: string, find: (ref: string) => ContainerSpec): VolumeSpec[] {
  const [ref = "", mode, ...rest] = text.split(":");
  if (ref === "" || rest.length || (mode !== undefined && mode !== "ro" && mode !== "rw")) throw new UserError(`invalid --volumes-from "${text}": CONTAINER[:ro|rw]`);
  return find(ref).volumes.map(({ anonymous: _, ...v }) => (mode === undefined ? v : { ...v, readOnly: mode === "ro" }));
}

/** Two mounts on one path are Docker's "Duplicate mount point" error. */
export function checkDistinctTargets(targets: string[]): void {
  const seen = new Set<string>();
  for (const t of targets) {
    if (seen.has(t)) throw new UserError(`duplicate mount point: ${t}`);
    seen.add(t);
  }
}

// The image store: images by id (root/images/<id>.json, the id being the sha256 of the image's
// config blob, as Docker's IMAGE ID), names pointing at them (root/tags/<encoded name:tag>), over
// content-addressed blobs (blobs.ts) and extracted layers shared by every image (layers.ts).
// `root` is always passed in, so tests and --root never touch a real store.
import { Errno } from "../sys/errors.ts";
import { close, exists, isErrno, lstat, mkdirs, open, readFile, readdirIfExists, removeTree, tryLockExclusive, unlink, withLockFile, writeFileAtomic } from "../sys/fs.ts";
import { O_NOFOLLOW, O_RDONLY } from "../sys/constants.ts";
import { join } from "../path.ts";
import { UserError } from "../container/errors.ts";
import { type ImageConfig } from "./config.ts";
import { blobsDir, deleteBlob, hasBlob, putBlob, readBlob, sha256Digest } from "./blobs.ts";
import { deleteLayer, layerPath, layerSize, layersDir } from "./layers.ts";
import { parseReference, tryParseReference } from "./reference.ts";
import { checkConfig, checkManifest, MEDIA, type Descriptor, type ImageDocument, type Manifest } from "./media.ts";
import { recordImageEvent } from "../container/events.ts";

export type { ImageConfig } from "./config.ts";

export interface ImageRecord {
  /** sha256 (hex) of the config blob. */
  id: string;
  /** Layer diff ids (hex sha256 of each uncompressed tar), bottom layer first. */
  layers: string[];
  config: ImageConfig;
  /** ISO 8601: the config's own "created", or when the image was made here. */
  created: string;
  os: string;
  architecture: string;
  /** The image manifest in the blob store (its layers' blobs are what `box save` writes). */
  manifest: Descriptor;
  /** name@sha256:… of each registry manifest (or index) this image was pulled by. */
  repoDigests: string[];
  /** Bytes of the unpacked layers. */
  size: number;
}

/** An image with the names that point at it. */
export interface ListedImage extends ImageRecord {
  tags: string[];
}

export interface ResolvedImage {
  ref: string;
  id: string;
  /** Absolute layer directories, TOP layer first, as overlayfs lowerdir lists them. */
  layerDirs: string[];
  config: ImageConfig;
}

/** What makes a new image: the config document and the blobs of its layers, all in the store. */
export interface NewImage {
  /** The config blob's exact bytes (their sha256 is the image id). */
  configBytes: Buffer;
  /** The manifest's exact bytes when it came from elsewhere (a registry, an archive); else one is written. */
  manifestBytes?: Buffer;
  layerBlobs: Descriptor[];
  /** Bytes of the unpacked layers. */
  size: number;
  repoDigest?: string;
  /** Names to point at the image. */
  tags?: string[];
}

const MAX_FILE_NAME_BYTES = 255;
const RECORD = /^([0-9a-f]{64})\.json$/;

/** Records an image whose layers are extracted and whose blobs are stored, and names it. */
export function createImage(root: string, image: NewImage): ImageRecord {
  const id = sha256Digest(image.configBytes).slice(7);
  const doc = parseDocument<ImageDocument>(image.configBytes, "image config");
  const layers = checkConfig(doc, "image config").map((d) => d.slice(7));
  if (layers.length !== image.layerBlobs.length) throw new UserError(`image config lists ${layers.length} layers, its manifest ${image.layerBlobs.length}`);
  const manifestBytes = image.manifestBytes ?? Buffer.from(JSON.stringify(ociManifest(id, image.configBytes.length, image.layerBlobs)));
  const manifest = checkManifest(parseDocument<Manifest>(manifestBytes, "manifest"), "manifest");
  return withStoreLock(root, () => {
    // Under the lock, so a removal's garbage collection cannot take them before the record names
    // them; a removal of another image meanwhile may have taken a layer this one shares.
    putBlob(root, image.configBytes);
    const manifestDigest = putBlob(root, manifestBytes);
    for (const digest of layers) if (!exists(layerPath(root, digest))) throw new UserError(`layer sha256:${digest} was removed meanwhile; pull or load the image again`);
    for (const blob of image.layerBlobs) if (!hasBlob(root, blob.digest)) throw new UserError(`blob ${blob.digest} was removed meanwhile; pull or load the image again`);
    const previous = readRecord(root, id);
    const record: ImageRecord = {
      id,
      layers,
      config: doc.config ?? {},
      created: previous?.created ?? (typeof doc.created === "string" ? doc.created : new Date().toISOString()),
      os: typeof doc.os === "string" ? doc.os : "linux",
      architecture: typeof doc.architecture === "string" ? doc.architecture : "amd64",
      manifest: { mediaType: manifest.mediaType ?? MEDIA.ociManifest, digest: manifestDigest, size: manifestBytes.length },
      repoDigests: [...new Set([...(previous?.repoDigests ?? []), ...(image.repoDigest ? [image.repoDigest] : [])])],
      size: image.size,
    };
    mkdirs(imagesDir(root), 0o700);
    writeFileAtomic(recordFile(root, id), `${JSON.stringify(record, null, 2)}\n`, 0o600, true);
    for (const tag of image.tags ?? []) writeTag(root, tag, id);
    return record;
  });
}

/** Refuses, before any work, a name too long to be stored. */
export function assertStorableName(root: string, ref: string): void {
  tagFile(root, parseReference(ref).ref);
}

/** `box tag`: points `ref` at the image `source` names. */
export function tagImage(root: string, source: string, ref: string): void {
  const target = parseReference(ref);
  if (target.digest) throw new UserError(`invalid tag ${JSON.stringify(ref)}: a tag cannot hold a digest`);
  const id = withStoreLock(root, () => {
    const id = findImage(root, source).id;
    writeTag(root, target.ref, id);
    return id;
  });
  recordImageEvent(root, "tag", `sha256:${id}`, target.ref);
}

/** The image a name, name@digest, or (a prefix of) an id means. */
export function findImage(root: string, ref: string): ImageRecord {
  const found = tryFindImage(root, ref);
  if (!found) throw new UserError(`image not found: ${shownRef(ref)}`);
  return found;
}

export function tryFindImage(root: string, ref: string): ImageRecord | undefined {
  return lookup(root, ref)?.record;
}

export function resolveImage(root: string, ref: string): ResolvedImage {
  const found = tryResolveImage(root, ref);
  if (!found) throw new UserError(`image not found: ${shownRef(ref)}`);
  return found;
}

/** The image's layer directories, top first, as a container stacks them; undefined if none. */
export function tryResolveImage(root: string, ref: string): ResolvedImage | undefined {
  const found = lookup(root, ref);
  if (!found) return undefined;
  const { record } = found;
  // A layer repeated (BuildKit's empty layer) is stacked once, at its topmost place: overlayfs
  // refuses one directory twice, and the lower copy could only show what the upper one shows.
  const layerDirs = [...new Set(record.layers.map((digest) => layerPath(root, digest)).reverse())];
  const missing = layerDirs.find((dir) => !exists(dir));
  if (missing) throw new Error(`image ${shownRef(ref)} is damaged: layer directory ${missing} is missing`);
  return { ref: found.byId ? record.id : shownRef(ref), id: record.id, layerDirs, config: record.config };
}

/** Every image with its names, newest first. */
export function listImages(root: string): ListedImage[] {
  const tags = readTags(root);
  return recordIds(root)
    .map((id) => readRecord(root, id))
    .filter((r): r is ImageRecord => r !== undefined)
    .map((r) => ({ ...r, tags: tags.filter(([, id]) => id === r.id).map(([ref]) => ref).sort() }))
    .sort((a, b) => b.created.localeCompare(a.created) || a.id.localeCompare(b.id));
}

/** Removes one name; true when it was the last one and the image is now nameless. */
export function untag(root: string, ref: string): { id: string; lastName: boolean } {
  return withStoreLock(root, () => {
    const reference = parseReference(ref);
    const file = tagFile(root, reference.ref);
    const id = readTag(file);
    if (id === undefined) throw new UserError(`image not found: ${reference.ref}`);
    unlink(file);
    recordImageEvent(root, "untag", `sha256:${id}`, `sha256:${id}`);
    return { id, lastName: !readTags(root).some(([, other]) => other === id) };
  });
}

/**
 * Removes an image (its names, record, manifest and config), then every layer and blob that
 * neither another image nor a container (`layersInUse`) still needs. Whether a container runs on
 * the image itself is the caller's question: the image store knows nothing of containers.
 */
export function removeImage(root: string, id: string, layersInUse: Set<string>): { untagged: string[]; deleted: string[] } {
  return withStoreLock(root, () => {
    const untagged = readTags(root).filter(([, other]) => other === id).map(([ref]) => ref);
    for (const ref of untagged) unlink(tagFile(root, ref));
    unlink(recordFile(root, id));
    for (const action of [...untagged.map(() => "untag"), "delete"]) recordImageEvent(root, action, `sha256:${id}`, `sha256:${id}`);
    return { untagged, deleted: [`sha256:${id}`, ...collectGarbage(root, layersInUse)] };
  });
}

/** The names pointing at an image. */
export function imageTags(root: string, id: string): string[] {
  return readTags(root).filter(([, other]) => other === id).map(([ref]) => ref).sort();
}

/**
 * Removes the layers and blobs nothing refers to (what a failed pull or load left), and the
 * temporary files of pulls, loads and commits that were killed: unlocked and past a grace of a
 * few seconds, or a day for a partial download (which a pull resumes).
 */
export function removeUnreferenced(root: string, layersInUse: Set<string>): string[] {
  return withStoreLock(root, () => {
    const now = Date.now();
    const stale = (dir: string, prefix: string, ageMs: number) => {
      for (const name of readdirIfExists(join(root, dir))) {
        const path = join(root, dir, name);
        if (name.startsWith(prefix) && now - lstat(path).mtimeMs > ageMs && !inUse(path)) removeTree(path);
      }
    };
    stale("layers", ".tmp-", TEMP_GRACE_MS);
    stale("blobs", ".tmp-", TEMP_GRACE_MS);
    stale("blobs", ".partial-", 24 * HOUR_MS);
    stale("tmp", "", TEMP_GRACE_MS);
    return collectGarbage(root, layersInUse);
  });
}

const HOUR_MS = 3600_000;
/**
 * Every owner locks its temporary right after making it (a lock, not its age, says it is in
 * use): the grace only covers the moment between the two, so a prune right after a killed
 * import or pull leaves nothing of it.
 */
const TEMP_GRACE_MS = 2_000;

// Whoever works on a temporary file or directory holds an flock on it (blob writers, layer
// extraction, load, commit, a spooled stdin).
function inUse(path: string): boolean {
  let fd: number;
  try {
    fd = open(path, O_RDONLY | O_NOFOLLOW);
  } catch {
    return true; // gone meanwhile, or nothing box can lock: left alone
  }
  try {
    return !tryLockExclusive(fd, path);
  } finally {
    close(fd);
  }
}

/** Images no name points at (a tag moved to a newer pull, a commit without a name). */
export function danglingImages(root: string): ListedImage[] {
  return listImages(root).filter((i) => i.tags.length === 0);
}

/** The config document as stored (what `box image inspect` and `box save` show). */
export function imageDocument(root: string, id: string): ImageDocument {
  return parseDocument<ImageDocument>(readBlob(root, `sha256:${id}`), "image config");
}

/** The image's history, newest first: each step with the size of the layer it made (0 for a
 * step that made none). Without a usable history, a step per layer. */
export function imageHistory(root: string, record: ImageRecord): { created?: string; createdBy: string; comment: string; size: number }[] {
  const history = imageDocument(root, record.id).history ?? [];
  const layered = history.filter((h) => !h.empty_layer);
  const steps = layered.length === record.layers.length ? history : record.layers.map(() => ({}) as NonNullable<ImageDocument["history"]>[number]);
  let layer = 0;
  return steps
    .map((h) => ({
      created: h.created,
      createdBy: h.created_by ?? "",
      comment: h.comment ?? "",
      size: h.empty_layer ? 0 : layerSize(root, record.layers[layer++]!),
    }))
    .reverse();
}

export function imageManifest(root: string, record: ImageRecord): Manifest {
  return parseDocument<Manifest>(readBlob(root, record.manifest.digest), "manifest");
}

/** One box process at a time changes names and records or removes anything. */
export function withStoreLock<T>(root: string, fn: () => T): T {
  return withLockFile(join(root, "images.lock"), fn);
}

// Layers and blobs nothing refers to any more; called with the store lock held. Blobs of
// images are their config, manifest and layer blobs.
function collectGarbage(root: string, layersInUse: Set<string>): string[] {
  const records = recordIds(root).map((id) => readRecord(root, id)).filter((r): r is ImageRecord => r !== undefined);
  const liveLayers = new Set([...layersInUse, ...records.flatMap((r) => r.layers)]);
  const liveBlobs = new Set(records.flatMap((r) => [`sha256:${r.id}`, r.manifest.digest, ...manifestLayers(root, r)]));
  const deleted: string[] = [];
  for (const name of readdirIfExists(layersDir(root))) {
    if (!/^[0-9a-f]{64}$/.test(name) || liveLayers.has(name)) continue;
    deleteLayer(root, name);
    deleted.push(`sha256:${name}`);
  }
  for (const name of readdirIfExists(blobsDir(root))) {
    if (/^[0-9a-f]{64}$/.test(name) && !liveBlobs.has(`sha256:${name}`)) deleteBlob(root, `sha256:${name}`);
  }
  // Records of box before the blob store (images/<name:tag>.json) name layers without blobs; their
  // images are gone from `box images`, and their files go here with their layers.
  for (const name of readdirIfExists(imagesDir(root))) if (name.endsWith(".json") && !RECORD.test(name)) unlink(join(imagesDir(root), name));
  return deleted;
}

// A record whose manifest cannot be read (a damaged image) protects no layer blobs; the rest of
// the store is still collected: one damaged image must not wedge every removal.
function manifestLayers(root: string, record: ImageRecord): string[] {
  try {
    return imageManifest(root, record).layers.map((l) => l.digest);
  } catch {
    return [];
  }
}

function ociManifest(id: string, configSize: number, layers: Descriptor[]): Manifest {
  return {
    schemaVersion: 2,
    mediaType: MEDIA.ociManifest,
    config: { mediaType: MEDIA.ociConfig, digest: `sha256:${id}`, size: configSize },
    layers,
  };
}

// What `ref` names, and whether it named it by id (a name shaped like an id wins, as in Docker).
function lookup(root: string, ref: string): { record: ImageRecord; byId: boolean } | undefined {
  const found = (record: ImageRecord | undefined, byId: boolean) => (record ? { record, byId } : undefined);
  if (isIdReference(ref)) {
    const tagged = tryParseReference(ref);
    const byName = tagged && readTag(tagFile(root, tagged.ref));
    if (byName) return found(readRecord(root, byName), false);
    const prefix = ref.replace(/^sha256:/, "");
    const matches = recordIds(root).filter((id) => id.startsWith(prefix));
    if (matches.length > 1) throw new UserError(`image id prefix ${ref} is ambiguous`);
    return matches[0] === undefined ? undefined : found(readRecord(root, matches[0]), true);
  }
  const reference = parseReference(ref);
  if (reference.digest) {
    const pinned = `${reference.name}@${reference.digest}`;
    return found(listImages(root).find((r) => r.repoDigests.includes(pinned)), false);
  }
  const id = readTag(tagFile(root, reference.ref));
  return id === undefined ? undefined : found(readRecord(root, id), false);
}

// An image id or a prefix of one (as `docker run 3f57d9401f8d` takes): hex, at least 4 digits.
function isIdReference(ref: string): boolean {
  return /^(sha256:)?[0-9a-f]{4,64}$/.test(ref);
}

function shownRef(ref: string): string {
  return isIdReference(ref) ? ref : parseReference(ref).ref;
}

function writeTag(root: string, ref: string, id: string): void {
  mkdirs(join(root, "tags"), 0o700);
  writeFileAtomic(tagFile(root, ref), `${id}\n`, 0o600, true);
}

function readTag(file: string): string | undefined {
  try {
    const id = readFile(file).trim();
    return /^[0-9a-f]{64}$/.test(id) ? id : undefined;
  } catch (err) {
    if (isErrno(err, Errno.ENOENT)) return undefined;
    throw err;
  }
}

function readTags(root: string): [ref: string, id: string][] {
  const tags: [string, string][] = [];
  for (const name of readdirIfExists(join(root, "tags"))) {
    if (name.startsWith(".")) continue;
    const id = readTag(join(root, "tags", name));
    if (id) tags.push([decodeURIComponent(name), id]);
  }
  return tags;
}

// Refs are validated, and encoding turns "/" and ":" into %2F and %3A, so the name stays one
// file name inside tags/.
function tagFile(root: string, ref: string): string {
  const name = encodeURIComponent(ref);
  if (Buffer.byteLength(name) > MAX_FILE_NAME_BYTES) throw new UserError(`image reference ${JSON.stringify(ref)} is too long to store`);
  return join(root, "tags", name);
}

function imagesDir(root: string): string {
  return join(root, "images");
}

function recordFile(root: string, id: string): string {
  return join(imagesDir(root), `${id}.json`);
}

function recordIds(root: string): string[] {
  return readdirIfExists(imagesDir(root)).flatMap((name) => RECORD.exec(name)?.[1] ?? []);
}

function readRecord(root: string, id: string): ImageRecord | undefined {
  let text: string;
  try {
    text = readFile(recordFile(root, id));
  } catch (err) {
    if (isErrno(err, Errno.ENOENT)) return undefined;
    throw err;
  }
  try {
    return JSON.parse(text) as ImageRecord;
  } catch (err) {
    throw new Error(`corrupt image record ${recordFile(root, id)}: ${(err as Error).message}`);
  }
}

export function sum(values: number[]): number {
  return values.reduce((a, b) => a + b, 0);
}


export function parseDocument<T>(bytes: Buffer | string, what: string, shape: "object" | "array" = "object"): T {
  try {
    const doc = JSON.parse(bytes.toString());
    if (shape === "array" ? !Array.isArray(doc) : doc === null || typeof doc !== "object" || Array.isArray(doc)) throw new Error(`not a JSON ${shape}`);
    return doc as T;
  } catch (err) {
    throw new UserError(`invalid ${what}: ${(err as Error).message}`);
  }
}

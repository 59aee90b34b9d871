// The image store: named images (root/images/<encoded ref>.json) over shared layers
// (layers.ts). `root` is always passed in, so tests and --root never touch a real store.
import { Errno } from "../sys/errors.ts";
import { exists, isErrno, mkdirs, readFile, readdir, unlink, writeFileAtomic } from "../sys/fs.ts";
import { join } from "../path.ts";
import { UserError } from "../container/errors.ts";
import { applyChanges, type ImageConfig } from "./config.ts";
import { deleteLayer, layerPath, storeLayer, type StoredLayer } from "./layers.ts";
import { parseReference } from "./reference.ts";

export type { ImageConfig } from "./config.ts";

export interface ImageRecord {
  ref: string;
  /** sha256 (hex) of the image's config document: its config and its layers. */
  id: string;
  /** Layer digests (hex sha256 of each uncompressed tar), bottom layer first. */
  layers: string[];
  config: ImageConfig;
  /** ISO 8601. */
  created: string;
}

export interface ImportOptions {
  /** Dockerfile-style instructions, as `docker import --change`: CMD, ENTRYPOINT, ENV, USER, WORKDIR, STOPSIGNAL, EXPOSE. */
  changes?: string[];
  /** Upper bound on archive entries (default 1,000,000). */
  maxEntries?: number;
}

export interface ImportResult {
  ref: string;
  id: string;
  layers: string[];
  skipped: StoredLayer["skipped"];
}

export interface ResolvedImage {
  ref: string;
  id: string;
  /** Absolute layer directories, TOP layer first, as overlayfs lowerdir lists them. */
  layerDirs: string[];
  config: ImageConfig;
}

const MAX_FILE_NAME_BYTES = 255;

/** `box import FILE NAME`: one rootfs tarball (plain, gzip or zstd) becomes a one-layer image.
 * Like `docker import`, the image has no config unless `changes` gives one. */
export async function importImage(root: string, file: string, ref: string, opts: ImportOptions = {}): Promise<ImportResult> {
  // Bad input is refused before a possibly long extraction (recordPath refuses refs too long
  // to be a file name).
  const reference = parseReference(ref);
  recordPath(root, reference.ref);
  const config = applyChanges({}, opts.changes ?? []);
  const layer = await storeLayer(root, file, { maxEntries: opts.maxEntries });
  const record = saveImage(root, reference.ref, [layer.digest], config);
  return { ref: record.ref, id: record.id, layers: record.layers, skipped: layer.skipped };
}

/** Records (or replaces) an image over layers already in the store, bottom layer first. */
export function saveImage(root: string, ref: string, layers: string[], config: ImageConfig): ImageRecord {
  const reference = parseReference(ref);
  for (const digest of layers) {
    if (!exists(layerPath(root, digest))) throw new Error(`cannot save image ${reference.ref}: layer ${digest} is not in the store`);
  }
  const record: ImageRecord = { ref: reference.ref, id: imageId(layers, config), layers, config, created: new Date().toISOString() };
  mkdirs(imagesDir(root), 0o700);
  writeFileAtomic(recordPath(root, record.ref), `${JSON.stringify(record, null, 2)}\n`, 0o600, true);
  return record;
}

export function resolveImage(root: string, ref: string): ResolvedImage {
  const record = findImage(root, ref);
  const layerDirs = record.layers.map((digest) => layerPath(root, digest)).reverse();
  const missing = layerDirs.find((dir) => !exists(dir));
  if (missing) throw new Error(`image ${record.ref} is damaged: layer directory ${missing} is missing`);
  return { ref: record.ref, id: record.id, layerDirs, config: record.config };
}

/** Every image, newest first. */
export function listImages(root: string): ImageRecord[] {
  let names: string[];
  try {
    names = readdir(imagesDir(root));
  } catch (err) {
    if (isErrno(err, Errno.ENOENT)) return [];
    throw err;
  }
  return names
    .filter((name) => name.endsWith(".json") && !name.startsWith("."))
    .map((name) => readRecord(join(imagesDir(root), name)))
    .sort((a, b) => b.created.localeCompare(a.created) || a.ref.localeCompare(b.ref));
}

/** Removes the name, then each of its layers no other image uses. Whether a container still
 * runs on the image is the caller's question: the image store knows nothing of containers. */
export function removeImage(root: string, ref: string): { ref: string; id: string; deletedLayers: string[] } {
  const record = findImage(root, ref);
  unlink(recordPath(root, record.ref));
  const stillUsed = new Set(listImages(root).flatMap((image) => image.layers));
  const deletedLayers = record.layers.filter((digest) => !stillUsed.has(digest));
  for (const digest of deletedLayers) deleteLayer(root, digest);
  return { ref: record.ref, id: record.id, deletedLayers };
}

function findImage(root: string, ref: string): ImageRecord {
  const reference = parseReference(ref);
  const path = recordPath(root, reference.ref);
  if (!exists(path)) throw new UserError(`image not found: ${reference.ref}`);
  return readRecord(path);
}

// The id hashes what makes the image what it is (as Docker's config digest does), so the same
// tarball with the same changes gets the same id; "created" is left out for that reason.
function imageId(layers: string[], config: ImageConfig): string {
  const document = { config, rootfs: { type: "layers", diff_ids: layers.map((d) => `sha256:${d}`) } };
  return new Bun.CryptoHasher("sha256").update(JSON.stringify(document)).digest("hex");
}

function imagesDir(root: string): string {
  return join(root, "images");
}

// Refs are validated, and encoding turns "/" and ":" into %2F and %3A, so the name stays one
// file name inside images/.
function recordPath(root: string, ref: string): string {
  const name = `${encodeURIComponent(ref)}.json`;
  if (Buffer.byteLength(name) > MAX_FILE_NAME_BYTES) throw new UserError(`image reference ${JSON.stringify(ref)} is too long to store`);
  return join(imagesDir(root), name);
}

function readRecord(path: string): ImageRecord {
  try {
    return JSON.parse(readFile(path)) as ImageRecord;
  } catch (err) {
    throw new Error(`corrupt image record ${path}: ${(err as Error).message}`);
  }
}


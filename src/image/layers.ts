// Extracted layers, one directory each: root/layers/<sha256 of the uncompressed tar>/.
// A layer appears under its digest only complete (extracted elsewhere, then renamed), and
// leaves the same way, so a reader never sees half of one.
import { availableBytes, close, exists, holdLock, mkdir, mkdirs, removeTree, rename, renameIntoPlace } from "../sys/fs.ts";
import { randomHex } from "../random.ts";
import { lstatSync, readdirSync } from "node:fs";
import { join } from "../path.ts";
import { UserError } from "../container/errors.ts";
import type { ExtractOptions, ExtractResult } from "./extract.ts";

const TEMP_PREFIX = ".tmp-";
const DIGEST = /^[0-9a-f]{64}$/;

export interface StoredLayer {
  digest: string;
  /** Bytes of the files in it. */
  size: number;
  /** False when a layer with this digest was already there and is shared. */
  created: boolean;
  skipped: ExtractResult["skipped"];
}

export function layersDir(root: string): string {
  return join(root, "layers");
}

/** The directory of a layer; the digest is checked so a damaged record cannot name a path. */
export function layerPath(root: string, digest: string): string {
  if (!DIGEST.test(digest)) throw new Error(`invalid layer digest ${JSON.stringify(digest)}`);
  return join(layersDir(root), digest);
}

export interface StoreLayerOptions extends ExtractOptions {
  /** The diff id the image config says the layer has: anything else is refused, and not kept. */
  expect?: string;
}

export async function storeLayer(root: string, archive: string, opts: StoreLayerOptions = {}): Promise<StoredLayer> {
  // 0700: layers hold the image's setuid binaries; host users must not reach them.
  mkdirs(layersDir(root), 0o700);
  // Loaded here, not at the top: node:zlib and the tar code would cost every `box run` ~2 ms.
  const [{ TarReader }, { extractTar }] = await Promise.all([import("./tar.ts"), import("./extract.ts")]);
  const temp = join(layersDir(root), `${TEMP_PREFIX}${randomHex(8)}`);
  mkdir(temp, 0o700);
  // Held until the layer is in place: a prune leaves a locked temp dir alone, however old.
  const lock = holdLock(temp);
  try {
    const reader = await TarReader.open(archive);
    const { skipped, bytes } = await extractTar(reader.entries(), temp, { ...opts, maxBytes: opts.maxBytes ?? unpackLimit(root) });
    const digest = reader.digest();
    if (opts.expect !== undefined && digest !== opts.expect) {
      throw new UserError(`layer ${archive} unpacks to sha256:${digest}, but the image config says sha256:${opts.expect}`);
    }
    // False when the layer exists already (found first, or put there meanwhile by another import
    // of the same content); the finally below removes the redundant copy.
    const created = renameIntoPlace(temp, layerPath(root, digest));
    return { digest, size: bytes, created, skipped };
  } finally {
    removeTree(temp);
    close(lock);
  }
}

/**
 * How much one layer may unpack to: what the store's filesystem has left, less a margin, so a
 * decompression bomb is stopped before the disk is full ($BOX_MAX_LAYER_BYTES lowers it).
 */
export function unpackLimit(root: string): number {
  const available = availableBytes(root);
  const free = available - Math.max(64 << 20, available / 20);
  const set = Number(process.env.BOX_MAX_LAYER_BYTES);
  return Math.max(0, Number.isFinite(set) && set > 0 ? Math.min(set, free) : free);
}

export function deleteLayer(root: string, digest: string): void {
  const path = layerPath(root, digest);
  if (!exists(path)) return;
  const doomed = join(layersDir(root), `${TEMP_PREFIX}${randomHex(8)}`);
  rename(path, doomed);
  removeTree(doomed);
}

/** Bytes of the regular files of a stored layer (for an image that shares it). */
export function layerSize(root: string, digest: string): number {
  let total = 0;
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.isFile()) total += lstatSync(path).size;
    }
  };
  walk(layerPath(root, digest));
  return total;
}

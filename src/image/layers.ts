// Extracted layers, one directory each: root/layers/<sha256 of the uncompressed tar>/.
// A layer appears under its digest only complete (extracted elsewhere, then renamed), and
// leaves the same way, so a reader never sees half of one.
import { exists, mkdir, mkdirs, removeTree, rename, renameIntoPlace } from "../sys/fs.ts";
import { randomHex } from "../random.ts";
import { join } from "../path.ts";
import type { ExtractOptions, ExtractResult } from "./extract.ts";

const TEMP_PREFIX = ".tmp-";
const DIGEST = /^[0-9a-f]{64}$/;

export interface StoredLayer {
  digest: string;
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

export async function storeLayer(root: string, archive: string, opts: ExtractOptions = {}): Promise<StoredLayer> {
  // 0700: layers hold the image's setuid binaries; host users must not reach them.
  mkdirs(layersDir(root), 0o700);
  // Loaded here, not at the top: node:zlib and the tar code would cost every `box run` ~2 ms.
  const [{ TarReader }, { extractTar }] = await Promise.all([import("./tar.ts"), import("./extract.ts")]);
  const temp = join(layersDir(root), `${TEMP_PREFIX}${randomHex(8)}`);
  mkdir(temp, 0o700);
  try {
    const reader = await TarReader.open(archive);
    const { skipped } = await extractTar(reader.entries(), temp, opts);
    const digest = reader.digest();
    // False when the layer exists already (found first, or put there meanwhile by another import
    // of the same content); the finally below removes the redundant copy.
    const created = renameIntoPlace(temp, layerPath(root, digest));
    return { digest, created, skipped };
  } finally {
    removeTree(temp);
  }
}

export function deleteLayer(root: string, digest: string): void {
  const path = layerPath(root, digest);
  if (!exists(path)) return;
  const doomed = join(layersDir(root), `${TEMP_PREFIX}${randomHex(8)}`);
  rename(path, doomed);
  removeTree(doomed);
}


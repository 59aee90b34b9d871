// Extracted layers, one directory each: root/layers/<sha256 of the uncompressed tar>/.
// A layer appears under its digest only complete (extracted elsewhere, then renamed), and
// leaves the same way, so a reader never sees half of one.
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync } from "node:fs";
import { randomHex } from "../random.ts";
import { join } from "node:path";
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
  mkdirSync(layersDir(root), { recursive: true, mode: 0o700 });
  // Loaded here, not at the top: node:zlib and the tar code would cost every `box run` ~2 ms.
  const [{ TarReader }, { extractTar }] = await Promise.all([import("./tar.ts"), import("./extract.ts")]);
  const temp = mkdtempSync(join(layersDir(root), TEMP_PREFIX));
  try {
    const reader = await TarReader.open(archive);
    const { skipped } = await extractTar(reader.entries(), temp, opts);
    const digest = reader.digest();
    const created = moveIntoPlace(temp, layerPath(root, digest));
    return { digest, created, skipped };
  } finally {
    rmSync(temp, { recursive: true, force: true });
  }
}

export function deleteLayer(root: string, digest: string): void {
  const path = layerPath(root, digest);
  if (!existsSync(path)) return;
  const doomed = join(layersDir(root), `${TEMP_PREFIX}${randomHex(8)}`);
  renameSync(path, doomed);
  rmSync(doomed, { recursive: true, force: true });
}

// Returns false when the layer already exists (found first, or put there concurrently by
// another import of the same content); the caller's finally removes the redundant copy.
function moveIntoPlace(temp: string, final: string): boolean {
  if (existsSync(final)) return false;
  try {
    renameSync(temp, final);
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if ((code === "ENOTEMPTY" || code === "EEXIST") && existsSync(final)) return false;
    throw err;
  }
}

// How layers and images enter the store from files: a layer archive is kept as a blob (what
// `box save` writes back, byte for byte) and unpacked into a layer directory; `box import` and
// `box commit` make the config and manifest documents of a new image around such layers.
import { statSync } from "node:fs";
import { UserError } from "../container/errors.ts";
import { fileCompression } from "./archive-stream.ts";
import { blobPath, deleteBlob, putBlobFile } from "./blobs.ts";
import { applyChanges, type ImageConfig } from "./config.ts";
import { storeLayer } from "./layers.ts";
import { hostPlatform, MEDIA, type Descriptor, type ImageDocument } from "./media.ts";
import { parseReference } from "./reference.ts";
import { assertStorableName, createImage, type ImageRecord } from "./store.ts";
import type { ExtractResult } from "./extract.ts";

export interface IngestedLayer {
  blob: Descriptor;
  /** sha256 (hex) of the uncompressed tar. */
  diffId: string;
  size: number;
  skipped: ExtractResult["skipped"];
}

export interface IngestOptions {
  /** Rename the file into the blob store instead of copying it (it must be in the store). */
  move?: boolean;
  /** The file is the blob `blobDigest`, stored and verified already (a pull's download): "new"
   * when it came for this layer (a layer refused takes it along), "shared" when it was there. */
  stored?: "new" | "shared";
  /** Digest the blob must have (a manifest's word for it). */
  blobDigest?: string;
  /** Digest its uncompressed tar must have (the image config's word for it). */
  diffId?: string;
  maxEntries?: number;
}

const LAYER_MEDIA = { none: MEDIA.ociLayer, gzip: MEDIA.ociLayerGzip, zstd: MEDIA.ociLayerZstd } as const;

/** A layer archive (plain, gzip or zstd) into the store: its blob, then its directory. */
export async function ingestLayer(root: string, file: string, opts: IngestOptions = {}): Promise<IngestedLayer> {
  const mediaType = LAYER_MEDIA[fileCompression(file)];
  const { digest, size, created } = opts.stored
    ? { digest: opts.blobDigest!, size: statSync(file).size, created: opts.stored === "new" }
    : putBlobFile(root, file, { move: opts.move, expected: opts.blobDigest });
  try {
    // Read from the caller's file while it is there, so errors name it.
    const layer = await storeLayer(root, opts.move ? blobPath(root, digest) : file, { expect: opts.diffId?.replace(/^sha256:/, ""), maxEntries: opts.maxEntries });
    return { blob: { mediaType, digest, size }, diffId: layer.digest, size: layer.size, skipped: layer.skipped };
  } catch (err) {
    // Nothing of a refused layer stays; a blob another image has stays with it.
    if (created) deleteBlob(root, digest);
    throw err;
  }
}

/** The config document of an image box makes (import, commit); `created` makes it a new image
 * each time, as Docker's are. */
export function configDocument(layers: string[], config: ImageConfig, about: Pick<ImageDocument, "created" | "author" | "history"> = {}): Buffer {
  const { os, architecture } = hostPlatform();
  const doc: ImageDocument = { ...about, architecture, os, config, rootfs: { type: "layers", diff_ids: layers.map((d) => `sha256:${d}`) } };
  return Buffer.from(JSON.stringify(doc));
}

export interface ImportOptions {
  /** Dockerfile-style instructions, as `docker import --change`. */
  changes?: string[];
  maxEntries?: number;
  /** The file is box's own (stdin spooled into the store): moved, not copied, into the blobs. */
  move?: boolean;
}

/** `box import FILE [NAME]`: one rootfs tarball (plain, gzip or zstd) becomes a one-layer image.
 * Like `docker import`, the image has no config unless `changes` gives one, and is new each time
 * (its config has the time it was made). */
export async function importImage(root: string, file: string, ref: string | undefined, opts: ImportOptions = {}): Promise<{ record: ImageRecord; skipped: IngestedLayer["skipped"] }> {
  // Bad input is refused before a possibly long extraction.
  const reference = ref === undefined ? undefined : parseReference(ref);
  if (reference?.digest) throw new UserError(`invalid image name ${JSON.stringify(ref)}: an imported image cannot have a digest`);
  if (reference) assertStorableName(root, reference.ref);
  const config = applyChanges({}, opts.changes ?? []);
  const layer = await ingestLayer(root, file, { maxEntries: opts.maxEntries, move: opts.move });
  const created = new Date().toISOString();
  const configBytes = configDocument([layer.diffId], config, { created, history: [{ created, created_by: "box import", comment: "imported from a rootfs tarball" }] });
  const record = createImage(root, { configBytes, layerBlobs: [layer.blob], size: layer.size, tags: reference ? [reference.ref] : [] });
  return { record, skipped: layer.skipped };
}

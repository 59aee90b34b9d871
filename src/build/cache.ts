// The build cache, as BuildKit's: a step's result (its layer and history entry) under a key made
// of the state it starts from and what it reads (the instruction, RUN's environment, COPY's
// sources by content). It lives in the store (builder/cache/KEY.json) and survives between
// builds; its layers are the built images' (as the classic builder's cache is its intermediate
// images): a result whose layer went with them (rmi, prune) is a miss. `box builder prune`
// empties it.
import { createHash } from "node:crypto";
import { exists, mkdirs, readFile, readdirIfExists, removeTree, writeFileAtomic } from "../sys/fs.ts";
import { join } from "../path.ts";
import { layerPath } from "../image/layers.ts";
import { hasBlob } from "../image/blobs.ts";
import type { History, Layer } from "./builder.ts";

/** A step's result: its layer (none for a config-only step) and its history entry (its time). */
export interface CachedStep {
  layer?: Layer;
  history: History;
}

const dir = (root: string) => join(root, "builder", "cache");

/** The key of a step from the key of the state before it and what the step reads. */
export function cacheKey(previous: string, parts: string[]): string {
  const h = createHash("sha256").update(previous);
  for (const p of parts) h.update("\0").update(p);
  return h.digest("hex");
}

export function loadCached(root: string, key: string): CachedStep | undefined {
  let step: CachedStep;
  try {
    step = JSON.parse(readFile(join(dir(root), `${key}.json`))) as CachedStep;
  } catch {
    return undefined;
  }
  if (step.layer && !(exists(layerPath(root, step.layer.diffId)) && hasBlob(root, step.layer.blob.digest))) return undefined;
  return step;
}

export function saveCached(root: string, key: string, step: CachedStep): void {
  mkdirs(dir(root), 0o700);
  writeFileAtomic(join(dir(root), `${key}.json`), JSON.stringify(step), 0o600);
}

/** `box builder prune`: every entry; how many there were. */
export function pruneCache(root: string): number {
  const n = readdirIfExists(dir(root)).length;
  removeTree(join(root, "builder"));
  return n;
}

// `box push`: an image's blobs as they are stored (layers, config), each skipped when the registry
// has it, then its manifest under the tag, so the pushed image has the id and digest it has here.
import { UserError } from "../container/errors.ts";
import { blobPath, readBlob } from "./blobs.ts";
import { parseReference } from "./reference.ts";
import { Registry, type RegistryOptions } from "./registry.ts";
import { findImage, imageManifest } from "./store.ts";
import type { PullProgress } from "./progress.ts";
import { recordImageEvent } from "../container/events.ts";

export interface PushOptions extends RegistryOptions {
  progress: PullProgress;
}

export async function pushImage(root: string, input: string, opts: PushOptions): Promise<string> {
  const ref = parseReference(input);
  if (ref.digest) throw new UserError(`cannot push ${ref.ref}: push a name with a tag`);
  const record = findImage(root, ref.ref);
  const manifest = imageManifest(root, record);
  const registry = new Registry(ref.domain, opts);
  const { progress } = opts;
  progress.say(`The push refers to repository [${ref.domain}/${ref.path}]`);
  for (const layer of manifest.layers) {
    const id = layer.digest.slice(7, 19);
    if (await registry.hasBlob(ref.path, layer.digest)) {
      progress.status(id, "Layer already exists");
      continue;
    }
    progress.status(id, "Pushing");
    await registry.uploadBlob(ref.path, layer.digest, blobPath(root, layer.digest));
    progress.status(id, "Pushed");
  }
  // The config last, quietly, as Docker does.
  if (!(await registry.hasBlob(ref.path, manifest.config.digest))) await registry.uploadBlob(ref.path, manifest.config.digest, blobPath(root, manifest.config.digest));
  const bytes = readBlob(root, record.manifest.digest);
  await registry.putManifest(ref.path, ref.tag!, bytes, record.manifest.mediaType);
  progress.say(`${ref.tag}: digest: ${record.manifest.digest} size: ${bytes.length}`);
  recordImageEvent(root, "push", ref.ref, ref.name);
  return record.manifest.digest;
}

// `box pull`: a reference → the registry's manifest (through an index, the one for the platform)
// → the config → each layer's blob (downloaded, verified, resumable) unpacked and checked against
// the config's diff id → an image record and its name. Every piece is verified before it is
// stored, and stored before anything refers to it, so a pull killed at any point leaves nothing
// that a later one would use unverified.
import { UserError } from "../container/errors.ts";
import { blobPath, hasBlob } from "./blobs.ts";
import { ingestLayer } from "./ingest.ts";
import { layerPath, layerSize } from "./layers.ts";
import { checkConfig, checkIndex, checkManifest, hostPlatform, INDEX_TYPES, LAYER_TYPES, MANIFEST_TYPES, MEDIA, type Index, type ImageDocument, type Manifest, type Platform } from "./media.ts";
import { parseReference } from "./reference.ts";
import { Registry, type RegistryOptions } from "./registry.ts";
import { createImage, parseDocument, sum, tryFindImage, type ImageRecord } from "./store.ts";
import type { PullProgress } from "./progress.ts";
import { exists } from "../sys/fs.ts";
import { recordImageEvent } from "../container/events.ts";

export interface PullOptions extends RegistryOptions {
  platform?: Platform;
  progress: PullProgress;
}

const ACCEPT = [MEDIA.ociIndex, MEDIA.dockerList, MEDIA.ociManifest, MEDIA.dockerManifest];
const MAX_CONFIG_BYTES = 8 << 20;
const PARALLEL_LAYERS = 3;

export async function pullImage(root: string, input: string, opts: PullOptions): Promise<ImageRecord> {
  const ref = parseReference(input);
  const registry = new Registry(ref.domain, opts);
  const platform = opts.platform ?? hostPlatform();
  const { progress } = opts;
  progress.say(ref.digest ? `${ref.digest.slice(7)}: Pulling from ${ref.path}` : `${ref.tag}: Pulling from ${ref.path}`);

  const top = await registry.manifest(ref.path, ref.digest ?? ref.tag!, ACCEPT);
  if (ref.digest && top.digest !== ref.digest) throw new UserError(`manifest of ${ref.ref} has digest ${top.digest}: refused`);
  const topType = mediaTypeOf(top.bytes, top.mediaType);
  let manifestBytes = top.bytes;
  let manifestType = topType;
  if (INDEX_TYPES.includes(topType)) {
    const index = checkIndex(parseDocument<Index>(top.bytes, "image index"), `index of ${ref.ref}`);
    const chosen = choosePlatform(index, platform, ref.ref);
    const inner = await registry.manifest(ref.path, chosen.digest, ACCEPT);
    if (inner.digest !== chosen.digest) throw new UserError(`manifest ${chosen.digest} of ${ref.ref} has digest ${inner.digest}: refused`);
    manifestBytes = inner.bytes;
    manifestType = mediaTypeOf(inner.bytes, inner.mediaType);
  }
  if (manifestType === MEDIA.dockerSchema1 || manifestType === MEDIA.dockerSchema1Signed) {
    throw new UserError(`${ref.ref} has a Docker schema 1 manifest, which box does not read (deprecated since 2017; push the image again with a current client)`);
  }
  if (!MANIFEST_TYPES.includes(manifestType)) throw new UserError(`${ref.ref}: unsupported manifest type ${JSON.stringify(manifestType)}`);
  const manifest = checkManifest(parseDocument<Manifest>(manifestBytes, "manifest"), `manifest of ${ref.ref}`);

  const configBytes = hasBlob(root, manifest.config.digest)
    ? Buffer.from(await Bun.file(blobPath(root, manifest.config.digest)).arrayBuffer())
    : await registry.smallBlob(ref.path, manifest.config.digest, MAX_CONFIG_BYTES);
  // A stored config was verified when it was stored; a downloaded one by smallBlob.
  const diffIds = checkConfig(parseDocument<ImageDocument>(configBytes, "image config"), `config of ${ref.ref}`);
  if (diffIds.length !== manifest.layers.length) throw new UserError(`${ref.ref}: its config lists ${diffIds.length} layers, its manifest ${manifest.layers.length}`);
  if (opts.platform && !INDEX_TYPES.includes(topType)) {
    const doc = parseDocument<ImageDocument>(configBytes, "image config");
    if (doc.os !== opts.platform.os || doc.architecture !== opts.platform.architecture) {
      throw new UserError(`image ${ref.ref} was found but does not match the specified platform: wanted ${showPlatform(opts.platform)}, actual: ${doc.os}/${doc.architecture}`);
    }
  }
  // Docker's words: "up to date" when the name already meant this very image.
  const id = manifest.config.digest.slice(7);
  const upToDate = (ref.digest ? tryFindImage(root, id) : tryFindImage(root, ref.ref))?.id === id;

  // An image may repeat a layer (BuildKit's empty one): each blob is fetched and unpacked once.
  const once = new Map<string, Promise<number>>();
  const sizes = await eachLimited(manifest.layers, PARALLEL_LAYERS, (layer, i) => {
    const key = `${layer.digest} ${diffIds[i]}`;
    if (!once.has(key)) once.set(key, pullLayer(layer, diffIds[i]!));
    return once.get(key)!;
  });
  async function pullLayer(layer: Manifest["layers"][number], diffId: string): Promise<number> {
    const id = layer.digest.slice(7, 19);
    if (!LAYER_TYPES.includes(layer.mediaType)) throw new UserError(`${ref.ref}: layer ${layer.digest} has media type ${JSON.stringify(layer.mediaType)}, which box cannot unpack`);
    if (hasBlob(root, layer.digest) && exists(layerPath(root, diffId.slice(7)))) {
      progress.status(id, "Already exists");
      return layerSize(root, diffId.slice(7));
    }
    progress.status(id, "Pulling fs layer");
    const hadBlob = hasBlob(root, layer.digest);
    await registry.downloadBlob(root, ref.path, layer.digest, layer.size, (done) => progress.bytes(id, done, layer.size));
    progress.status(id, "Download complete");
    const stored = await ingestLayer(root, blobPath(root, layer.digest), { stored: hadBlob ? "shared" : "new", blobDigest: layer.digest, diffId });
    progress.status(id, "Pull complete");
    return stored.size;
  }

  const record = createImage(root, {
    configBytes,
    manifestBytes,
    layerBlobs: manifest.layers.map(({ mediaType, digest, size }) => ({ mediaType, digest, size })),
    size: sum(sizes),
    repoDigest: `${ref.name}@${top.digest}`,
    tags: ref.digest ? [] : [ref.ref],
  });
  recordImageEvent(root, "pull", ref.ref, ref.name);
  progress.say(`Digest: ${top.digest}`);
  progress.say(`Status: ${upToDate ? "Image is up to date" : "Downloaded newer image"} for ${ref.ref}`);
  progress.say(ref.digest ? `${ref.domain}/${ref.path}@${ref.digest}` : `${ref.domain}/${ref.path}:${ref.tag}`);
  return record;
}

/** The manifest for the platform, as Docker chooses: os and architecture, then the variant. */
function choosePlatform(index: Index, want: Platform, ref: string): Index["manifests"][number] {
  const candidates = (index.manifests ?? []).filter((m) => m.platform?.os === want.os && m.platform?.architecture === want.architecture && MANIFEST_TYPES.includes(m.mediaType));
  const chosen = (want.variant ? candidates.find((m) => m.platform?.variant === want.variant) : undefined) ?? candidates[0];
  if (!chosen) {
    const offered = (index.manifests ?? []).map((m) => m.platform && [m.platform.os, m.platform.architecture, m.platform.variant].filter(Boolean).join("/")).filter(Boolean);
    throw new UserError(`no image for ${showPlatform(want)} in ${ref} (it has: ${offered.join(", ") || "none"})`);
  }
  return chosen;
}

// Registries may send a generic content type; the document's own mediaType then tells.
function mediaTypeOf(bytes: Buffer, header: string): string {
  if (INDEX_TYPES.includes(header) || MANIFEST_TYPES.includes(header) || header.startsWith(MEDIA.dockerSchema1)) return header;
  const doc = parseDocument<{ mediaType?: string; manifests?: unknown; schemaVersion?: number }>(bytes, "manifest");
  if (doc.mediaType) return doc.mediaType;
  if (doc.schemaVersion === 1) return MEDIA.dockerSchema1;
  return doc.manifests ? MEDIA.ociIndex : MEDIA.ociManifest;
}

/** `fn` over items, at most `limit` at a time; results in order; the first failure wins. */
async function eachLimited<T, R>(items: T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

function showPlatform(p: Platform): string {
  return [p.os, p.architecture, p.variant].filter(Boolean).join("/");
}

/** "linux/arm64/v8" → Platform. */
export function parsePlatform(text: string): Platform {
  const [os, architecture, variant, extra] = text.split("/");
  if (!os || !architecture || extra !== undefined) throw new UserError(`invalid platform ${JSON.stringify(text)}: use OS/ARCH[/VARIANT], e.g. linux/amd64`);
  return variant ? { os, architecture, variant } : { os, architecture };
}

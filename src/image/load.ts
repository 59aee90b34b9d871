// `box load`: images from a `docker save` archive (manifest.json, any Docker version) or an OCI
// image layout (index.json), as a tar (plain or compressed) or a directory. A tar is unpacked
// into the store first, with the same hostile-archive rules as a layer, and its blobs moved, not
// copied, into the blob store. Every file the archive's documents name is found inside it without
// following links, and every blob and layer is checked against its digest.
import { lstatSync, readFileSync } from "node:fs";
import { UserError } from "../container/errors.ts";
import { close, holdLock, mkdirs, removeTree } from "../sys/fs.ts";
import { join } from "../path.ts";
import { randomHex } from "../random.ts";
import { normalizeEntryPath } from "./entry-path.ts";
import { extractTar } from "./extract.ts";
import { ingestLayer, type IngestedLayer } from "./ingest.ts";
import { sha256Digest } from "./blobs.ts";
import { unpackLimit } from "./layers.ts";
import { checkConfig, checkIndex, checkManifest, hostPlatform, INDEX_TYPES, type Descriptor, type ImageDocument, type Index, type Manifest } from "./media.ts";
import { DIGEST, parseReference } from "./reference.ts";
import { createImage, parseDocument, sum, type ImageRecord } from "./store.ts";
import { TarReader } from "./tar.ts";

export interface Loaded {
  record: ImageRecord;
  tags: string[];
}

interface DockerSaveEntry {
  Config: string;
  RepoTags?: string[] | null;
  Layers: string[];
}

// Bounds on an archive's JSON documents: no legitimate one comes near.
const MAX_DOCUMENT_BYTES = 8 << 20;

export async function loadImages(root: string, input: string): Promise<Loaded[]> {
  if (lstatSync(input, { throwIfNoEntry: false })?.isDirectory()) return loadDirectory(root, input, false, input);
  const temp = join(root, "tmp", `load-${randomHex(8)}`);
  mkdirs(temp, 0o700);
  const lock = holdLock(temp);
  try {
    const reader = await TarReader.open(input);
    await extractTar(reader.entries(), temp, { maxBytes: unpackLimit(root) });
    return await loadDirectory(root, temp, true, "the archive");
  } finally {
    removeTree(temp);
    close(lock);
  }
}

async function loadDirectory(root: string, dir: string, ours: boolean, shown: string): Promise<Loaded[]> {
  // Docker 25+ writes both; manifest.json has the names Docker's load uses.
  if (isFile(dir, "manifest.json")) return loadDockerSave(root, dir, ours);
  if (isFile(dir, "index.json")) return loadOciLayout(root, dir, ours);
  throw new UserError(`${shown} is neither a docker save archive (manifest.json) nor an OCI image layout (index.json); a root filesystem tarball is for 'box import'`);
}

async function loadDockerSave(root: string, dir: string, ours: boolean): Promise<Loaded[]> {
  const entries = parseDocument<DockerSaveEntry[]>(readBytes(dir, "manifest.json"), "manifest.json", "array");
  const layers = new LayerFiles(root, dir, ours);
  const loaded: Loaded[] = [];
  for (const [n, entry] of entries.entries()) {
    const what = `manifest.json: image ${n + 1}`;
    if (typeof entry?.Config !== "string" || !isStringList(entry.Layers) || !(entry.RepoTags == null || isStringList(entry.RepoTags))) {
      throw new UserError(`${what}: Config must be a path, Layers and RepoTags lists of strings`);
    }
    const configBytes = readBytes(dir, entry.Config);
    const diffIds = checkConfig(parseDocument<ImageDocument>(configBytes, `image config ${entry.Config}`), `image config ${entry.Config}`);
    if (diffIds.length !== entry.Layers.length) throw new UserError(`${entry.Config}: the config lists ${diffIds.length} layers, manifest.json ${entry.Layers.length}`);
    const stored = [];
    for (const [i, layer] of entry.Layers.entries()) stored.push(await layers.ingest(layer, { diffId: diffIds[i] }));
    const tags = (entry.RepoTags ?? []).map((t) => parseReference(t).ref);
    const record = createImage(root, { configBytes, layerBlobs: stored.map((l) => l.blob), size: sum(stored.map((l) => l.size)), tags });
    loaded.push({ record, tags });
  }
  return loaded;
}

async function loadOciLayout(root: string, dir: string, ours: boolean): Promise<Loaded[]> {
  const index = checkIndex(readDocument<Index>(dir, "index.json"), "index.json");
  const layers = new LayerFiles(root, dir, ours);
  const loaded: Loaded[] = [];
  for (const top of index.manifests) {
    const manifestDesc = INDEX_TYPES.includes(top.mediaType) ? platformManifest(dir, top) : top;
    const manifestBytes = readBlobFile(dir, manifestDesc.digest);
    const manifest = checkManifest(parseDocument<Manifest>(manifestBytes, `manifest ${manifestDesc.digest}`), `manifest ${manifestDesc.digest}`);
    const configBytes = readBlobFile(dir, manifest.config.digest);
    const diffIds = checkConfig(parseDocument<ImageDocument>(configBytes, `image config ${manifest.config.digest}`), `image config ${manifest.config.digest}`);
    if (diffIds.length !== manifest.layers.length) throw new UserError(`manifest ${manifestDesc.digest}: its layers do not match its config's`);
    const sizes: number[] = [];
    for (const [i, layer] of manifest.layers.entries()) {
      sizes.push((await layers.ingest(`blobs/sha256/${layer.digest.slice(7)}`, { blobDigest: layer.digest, diffId: diffIds[i] })).size);
    }
    const name = nameOf(top.annotations);
    const tags = name ? [name] : [];
    const layerBlobs = manifest.layers.map(({ mediaType, digest, size }) => ({ mediaType, digest, size }));
    const record = createImage(root, { configBytes, manifestBytes, layerBlobs, size: sum(sizes), tags });
    loaded.push({ record, tags });
  }
  if (loaded.length === 0) throw new UserError("index.json lists no image");
  return loaded;
}

/**
 * The archive's layer files, each ingested once: a file moved into the blob store (the archive is
 * box's own unpacked copy) is gone for the next image that shares it, which gets the same result.
 */
class LayerFiles {
  private readonly done = new Map<string, IngestedLayer>();

  constructor(
    private readonly root: string,
    private readonly dir: string,
    private readonly ours: boolean,
  ) {}

  async ingest(name: string, expect: { blobDigest?: string; diffId?: string }): Promise<IngestedLayer> {
    const key = normalizeEntryPath(name);
    const id = "components" in key ? key.components.join("/") : name;
    const known = this.done.get(id);
    if (known) {
      if (expect.diffId !== undefined && known.diffId !== expect.diffId.slice(7)) throw new UserError(`${name} unpacks to sha256:${known.diffId}, but the image config says ${expect.diffId}`);
      return known;
    }
    const layer = await ingestLayer(this.root, safePath(this.dir, name), { move: this.ours, ...expect });
    this.done.set(id, layer);
    return layer;
  }
}

function isStringList(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((v) => typeof v === "string");
}

// containerd and Docker put the full name in io.containerd.image.name; the OCI annotation is often
// only a tag, which names nothing without a repository.
function nameOf(annotations: Record<string, string> | undefined): string | undefined {
  const full = annotations?.["io.containerd.image.name"] ?? annotations?.["org.opencontainers.image.ref.name"];
  if (!full || !/[:/]/.test(full)) return undefined;
  return parseReference(full).ref;
}

function platformManifest(dir: string, indexDesc: Descriptor): Descriptor {
  const inner = checkIndex(parseDocument<Index>(readBlobFile(dir, indexDesc.digest), `index ${indexDesc.digest}`), `index ${indexDesc.digest}`);
  const want = hostPlatform();
  const chosen = (inner.manifests ?? []).find((m) => m.platform?.os === want.os && m.platform?.architecture === want.architecture);
  if (!chosen) throw new UserError(`index ${indexDesc.digest} has no image for ${want.os}/${want.architecture}`);
  return chosen;
}

function readBlobFile(dir: string, digest: string | undefined): Buffer {
  if (!digest || !DIGEST.test(digest)) throw new UserError(`invalid digest ${JSON.stringify(digest)} in the layout`);
  const bytes = readBytes(dir, `blobs/sha256/${digest.slice(7)}`);
  const actual = sha256Digest(bytes);
  if (actual !== digest) throw new UserError(`blob ${digest} in the archive has digest ${actual}: refused`);
  return bytes;
}

function readDocument<T>(dir: string, name: string): T {
  return parseDocument<T>(readBytes(dir, name), name);
}

function readBytes(dir: string, name: string): Buffer {
  const path = safePath(dir, name);
  if (lstatSync(path).size > MAX_DOCUMENT_BYTES) throw new UserError(`${name} in the archive is larger than ${MAX_DOCUMENT_BYTES} bytes: refused`);
  return readFileSync(path);
}

function isFile(dir: string, name: string): boolean {
  return lstatSync(join(dir, name), { throwIfNoEntry: false })?.isFile() === true;
}

/** `name` inside `dir`: no way out, no link on the way, a regular file at the end. */
function safePath(dir: string, name: string): string {
  const normalized = normalizeEntryPath(name);
  if ("problem" in normalized || name.startsWith("/") || name.split("/").includes("..")) throw new UserError(`the archive names ${JSON.stringify(name)}: refused (it must be a path inside the archive)`);
  let path = dir;
  for (const [i, component] of normalized.components.entries()) {
    path = join(path, component);
    const st = lstatSync(path, { throwIfNoEntry: false });
    const last = i === normalized.components.length - 1;
    if (!st) throw new UserError(`the archive names ${JSON.stringify(name)}, which it does not contain`);
    if (last ? !st.isFile() : !st.isDirectory()) throw new UserError(`the archive names ${JSON.stringify(name)}, which is not a regular file inside it: refused`);
  }
  return path;
}


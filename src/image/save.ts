// `box save`: images as one tar that both `docker load` (manifest.json) and OCI tools (an image
// layout: oci-layout, index.json, blobs/) read, as Docker 25 writes it. The blobs are the stored
// ones, byte for byte, so a saved and loaded image keeps its id and digests.
import { blobPath } from "./blobs.ts";
import { MEDIA } from "./media.ts";
import { parseReference, tryParseReference } from "./reference.ts";
import { imageManifest, imageTags, type ImageRecord } from "./store.ts";
import { TarWriter } from "./tar-writer.ts";
import { closeSync, fstatSync, openSync } from "node:fs";

export interface SaveItem {
  record: ImageRecord;
  /** The names to save it under: the one asked for, or every name when asked by id. */
  tags: string[];
}

export function saveImages(root: string, items: SaveItem[], fd: number): void {
  const tar = new TarWriter(fd);
  const now = Math.floor(Date.now() / 1000);
  const dir = (path: string) => tar.add({ path, type: "dir", mode: 0o755, uid: 0, gid: 0, mtime: now });
  const file = (path: string, data: string) => tar.add({ path, type: "file", mode: 0o644, uid: 0, gid: 0, mtime: now }, Buffer.from(data));
  dir("blobs");
  dir("blobs/sha256");
  const written = new Set<string>();
  const blob = (digest: string) => {
    if (written.has(digest)) return;
    written.add(digest);
    const fd = openSync(blobPath(root, digest), "r");
    try {
      tar.add({ path: `blobs/sha256/${digest.slice(7)}`, type: "file", mode: 0o644, uid: 0, gid: 0, mtime: now, size: fstatSync(fd).size }, { fd });
    } finally {
      closeSync(fd);
    }
  };
  const dockerManifest = [];
  const indexEntries = [];
  for (const { record, tags } of items) {
    const manifest = imageManifest(root, record);
    blob(record.manifest.digest);
    blob(manifest.config.digest);
    for (const layer of manifest.layers) blob(layer.digest);
    dockerManifest.push({ Config: `blobs/sha256/${record.id}`, RepoTags: tags, Layers: manifest.layers.map((l) => `blobs/sha256/${l.digest.slice(7)}`) });
    const names = tags.length ? tags : [undefined];
    for (const tag of names) {
      const annotations = tag ? { "io.containerd.image.name": fullName(tag), "org.opencontainers.image.ref.name": parseReference(tag).tag! } : undefined;
      indexEntries.push({ ...record.manifest, ...(annotations ? { annotations } : {}) });
    }
  }
  file("oci-layout", JSON.stringify({ imageLayoutVersion: "1.0.0" }));
  file("index.json", JSON.stringify({ schemaVersion: 2, mediaType: MEDIA.ociIndex, manifests: indexEntries }));
  file("manifest.json", JSON.stringify(dockerManifest));
  tar.finish();
}

/** The items for `box save A B`: an image asked for by name is saved under that name, one asked
 * for by id under none (as Docker does). */
export function saveItem(root: string, ref: string, record: ImageRecord): SaveItem {
  const asked = tryParseReference(ref)?.ref;
  return { record, tags: asked && imageTags(root, record.id).includes(asked) ? [asked] : [] };
}

// docker.io/library/busybox:latest, as containerd names images.
function fullName(tag: string): string {
  const ref = parseReference(tag);
  return `${ref.domain}/${ref.path}:${ref.tag}`;
}

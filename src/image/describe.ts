// `box image inspect`'s JSON, in the shape of Docker's.
import { imageDocument, imageTags, type ImageRecord } from "./store.ts";

export function describeImage(root: string, record: ImageRecord): Record<string, unknown> {
  const doc = imageDocument(root, record.id);
  return {
    Id: `sha256:${record.id}`,
    RepoTags: imageTags(root, record.id),
    RepoDigests: record.repoDigests,
    Created: record.created,
    Author: doc.author ?? "",
    Comment: doc.history?.at(-1)?.comment ?? "",
    // Docker shows every field of a config, empty where the image sets none: a template over
    // .Config.Entrypoint works on any image.
    Config: { Hostname: "", Domainname: "", User: "", Env: null, Cmd: null, Entrypoint: null, WorkingDir: "", Labels: null, ...record.config },
    Architecture: record.architecture,
    Variant: doc.variant,
    Os: record.os,
    Size: record.size,
    RootFS: { Type: "layers", Layers: record.layers.map((l) => `sha256:${l}`) },
    Manifest: record.manifest,
    History: doc.history ?? [],
  };
}

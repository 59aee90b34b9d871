// `box image inspect`'s JSON, in the shape of Docker's.
import { imageDocument, imageTags, type ImageRecord } from "./store.ts";

/** Docker's container.Config without its omitempty fields (ExposedPorts, Healthcheck, StopSignal, Shell...). */
const CONFIG_FIELDS = {
  Hostname: "", Domainname: "", User: "", AttachStdin: false, AttachStdout: false, AttachStderr: false, Tty: false, OpenStdin: false, StdinOnce: false,
  Env: null, Cmd: null, Image: "", Volumes: null, WorkingDir: "", Entrypoint: null, OnBuild: null, Labels: null,
};

export function describeImage(root: string, record: ImageRecord): Record<string, unknown> {
  const doc = imageDocument(root, record.id);
  return {
    Id: `sha256:${record.id}`,
    RepoTags: imageTags(root, record.id),
    RepoDigests: record.repoDigests,
    Created: record.created,
    Author: doc.author ?? "",
    Comment: doc.history?.at(-1)?.comment ?? "",
    // Docker shows every field of a config that Go's encoding does not leave out when empty (its
    // order), empty where the image sets none: a template over .Config.Entrypoint works on any image.
    Config: { ...CONFIG_FIELDS, ...record.config },
    Architecture: record.architecture,
    Variant: doc.variant,
    Os: record.os,
    Size: record.size,
    RootFS: { Type: "layers", Layers: record.layers.map((l) => `sha256:${l}`) },
    Manifest: record.manifest,
    History: doc.history ?? [],
  };
}

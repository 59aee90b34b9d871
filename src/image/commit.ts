// `box commit`: a container's own layer (its overlayfs upper dir) becomes a new layer on top of
// its image's, with the container's command, environment and working directory as the new
// image's config, as Docker's commit does.
import { closeSync, openSync, constants } from "node:fs";
import { UserError } from "../container/errors.ts";
import type { ContainerSpec } from "../container/spec.ts";
import { close, holdLock, mkdirs, removeTree } from "../sys/fs.ts";
import { join } from "../path.ts";
import { randomHex } from "../random.ts";
import { applyChanges, type ImageConfig } from "./config.ts";
import { configDocument, ingestLayer, type IngestedLayer } from "./ingest.ts";
import { parseReference } from "./reference.ts";
import { assertStorableName, createImage, findImage, imageDocument, imageManifest, type ImageRecord } from "./store.ts";
import { TarWriter } from "./tar-writer.ts";
import { archiveLayer } from "./tree-archive.ts";

export interface CommitOptions {
  ref?: string;
  changes: string[];
  message?: string;
  author?: string;
}

export async function commitContainer(root: string, spec: ContainerSpec, containerDir: string, opts: CommitOptions): Promise<ImageRecord> {
  if (spec.rootfs.kind !== "image") throw new UserError(`container ${spec.name} runs on a directory (--rootfs), not an image: there is no layer to commit`);
  if (spec.userns) throw new UserError(`container ${spec.name} has its own user namespace: box cannot commit it yet (its files belong to shifted ids)`);
  const tag = opts.ref === undefined ? undefined : parseReference(opts.ref);
  if (tag?.digest) throw new UserError(`invalid image name ${JSON.stringify(opts.ref)}: a committed image cannot have a digest`);
  if (tag) assertStorableName(root, tag.ref);
  const parent = findImage(root, spec.rootfs.id);
  const config = applyChanges(containerConfig(parent.config, spec), opts.changes);

  const temp = join(root, "tmp", `commit-${randomHex(8)}`);
  mkdirs(temp, 0o700);
  const lock = holdLock(temp);
  try {
    const layer = await archiveInto(root, temp, join(containerDir, "upper"));
    const parentDoc = imageDocument(root, parent.id);
    const created = new Date().toISOString();
    const history = [...(parentDoc.history ?? []), { created, created_by: "box commit", ...(opts.message ? { comment: opts.message } : {}) }];
    const configBytes = configDocument([...parent.layers, layer.diffId], config, { created, history, ...(opts.author ? { author: opts.author } : {}) });
    return createImage(root, {
      configBytes,
      layerBlobs: [...imageManifest(root, parent).layers, layer.blob],
      size: parent.size + layer.size,
      tags: tag ? [tag.ref] : [],
    });
  } finally {
    removeTree(temp);
    close(lock);
  }
}

// Docker's rule: the new image runs what the container ran. The image's entrypoint stays when the
// container's command starts with it; the rest is the new Cmd.
function containerConfig(base: ImageConfig, spec: ContainerSpec): ImageConfig {
  const entrypoint = base.Entrypoint ?? [];
  const keepsEntrypoint = entrypoint.length > 0 && entrypoint.every((arg, i) => spec.command[i] === arg);
  const config: ImageConfig = {
    ...base,
    Env: spec.env,
    Cmd: keepsEntrypoint ? spec.command.slice(entrypoint.length) : spec.command,
    WorkingDir: spec.workdir,
    Labels: Object.keys(spec.labels ?? {}).length ? spec.labels : base.Labels,
  };
  if (!keepsEntrypoint) delete config.Entrypoint;
  if (spec.user) config.User = spec.user;
  return config;
}

/** An overlayfs upper directory (a container's, a build step's) as a layer of the store. */
export async function layerFromDir(root: string, dir: string): Promise<IngestedLayer> {
  const temp = join(root, "tmp", `layer-${randomHex(8)}`);
  mkdirs(temp, 0o700);
  const lock = holdLock(temp);
  try {
    return await archiveInto(root, temp, dir);
  } finally {
    removeTree(temp);
    close(lock);
  }
}

/** The tar of `dir` as a layer (overlayfs' whiteouts as the image spec's), made in `temp`, ingested. */
async function archiveInto(root: string, temp: string, dir: string): Promise<IngestedLayer> {
  const tarFile = join(temp, "layer.tar");
  const fd = openSync(tarFile, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
  try {
    const tar = new TarWriter(fd);
    archiveLayer(tar, dir);
    tar.finish();
  } finally {
    closeSync(fd);
  }
  return ingestLayer(root, tarFile, { move: true });
}

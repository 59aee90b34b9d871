// The documents of the OCI image spec and Docker's schema 2, as far as box reads and writes
// them, and their media types.
import { UserError } from "../container/errors.ts";
import type { ImageConfig } from "./config.ts";
import { DIGEST } from "./reference.ts";

export const MEDIA = {
  ociIndex: "application/vnd.oci.image.index.v1+json",
  ociManifest: "application/vnd.oci.image.manifest.v1+json",
  ociConfig: "application/vnd.oci.image.config.v1+json",
  ociLayer: "application/vnd.oci.image.layer.v1.tar",
  ociLayerGzip: "application/vnd.oci.image.layer.v1.tar+gzip",
  ociLayerZstd: "application/vnd.oci.image.layer.v1.tar+zstd",
  dockerList: "application/vnd.docker.distribution.manifest.list.v2+json",
  dockerManifest: "application/vnd.docker.distribution.manifest.v2+json",
  dockerConfig: "application/vnd.docker.container.image.v1+json",
  dockerLayerGzip: "application/vnd.docker.image.rootfs.diff.tar.gzip",
  dockerSchema1: "application/vnd.docker.distribution.manifest.v1+json",
  dockerSchema1Signed: "application/vnd.docker.distribution.manifest.v1+prettyjws",
} as const;

export const INDEX_TYPES: string[] = [MEDIA.ociIndex, MEDIA.dockerList];
export const MANIFEST_TYPES: string[] = [MEDIA.ociManifest, MEDIA.dockerManifest];
// Layers box can unpack; foreign (non-distributable) layers and anything else are refused.
export const LAYER_TYPES: string[] = [MEDIA.ociLayer, MEDIA.ociLayerGzip, MEDIA.ociLayerZstd, MEDIA.dockerLayerGzip, "application/vnd.docker.image.rootfs.diff.tar"];

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: Platform;
  annotations?: Record<string, string>;
}

export interface Manifest {
  schemaVersion: number;
  mediaType?: string;
  config: Descriptor;
  layers: Descriptor[];
  annotations?: Record<string, string>;
}

export interface Index {
  schemaVersion: number;
  mediaType?: string;
  manifests: Descriptor[];
}

/** The image config document (its sha256 is the image id). */
export interface ImageDocument {
  created?: string;
  architecture?: string;
  variant?: string;
  os?: string;
  config?: ImageConfig;
  rootfs?: { type: string; diff_ids: string[] };
  history?: { created?: string; created_by?: string; comment?: string; empty_layer?: boolean }[];
  author?: string;
}

/** The platform box runs: linux and the machine's architecture in Go's (OCI's) words. */
export function hostPlatform(): Platform {
  const arch = { x64: "amd64", arm64: "arm64", arm: "arm", ia32: "386", ppc64: "ppc64le", s390x: "s390x", riscv64: "riscv64" }[process.arch as string] ?? process.arch;
  return { os: "linux", architecture: arch };
}

// Documents come from registries and archives: their shape is checked once, here, so the code
// that uses them can trust it (and a bad one is one clear line, not a TypeError).

export function checkDescriptor(value: unknown, what: string): Descriptor {
  const d = value as Descriptor;
  if (!d || typeof d !== "object") throw new UserError(`${what}: not a descriptor object`);
  if (typeof d.mediaType !== "string") throw new UserError(`${what}: no media type`);
  if (typeof d.digest !== "string" || !DIGEST.test(d.digest)) throw new UserError(`${what}: invalid digest ${JSON.stringify(d.digest)}`);
  if (!Number.isSafeInteger(d.size) || d.size < 0) throw new UserError(`${what}: invalid size ${JSON.stringify(d.size)}`);
  return d;
}

export function checkManifest(doc: Manifest, what: string): Manifest {
  checkDescriptor(doc.config, `${what}: config`);
  if (!Array.isArray(doc.layers)) throw new UserError(`${what}: no list of layers`);
  doc.layers.forEach((layer, i) => checkDescriptor(layer, `${what}: layer ${i + 1}`));
  return doc;
}

export function checkIndex(doc: Index, what: string): Index {
  if (!Array.isArray(doc.manifests)) throw new UserError(`${what}: no list of manifests`);
  doc.manifests.forEach((m, i) => checkDescriptor(m, `${what}: manifest ${i + 1}`));
  return doc;
}

/** The config's diff ids, each a sha256 digest; its "config" an object if there is one. */
export function checkConfig(doc: ImageDocument, what: string): string[] {
  const ids = doc.rootfs?.diff_ids;
  if (!Array.isArray(ids) || !ids.every((id) => typeof id === "string" && DIGEST.test(id))) throw new UserError(`${what}: rootfs.diff_ids must be a list of sha256 digests`);
  if (doc.config !== undefined && doc.config !== null) {
    if (typeof doc.config !== "object" || Array.isArray(doc.config)) throw new UserError(`${what}: "config" must be an object`);
    const c = doc.config;
    const bad = (field: string, shape: string) => new UserError(`${what}: config.${field} must be ${shape}`);
    for (const field of ["Cmd", "Entrypoint", "Env"] as const) {
      if (c[field] != null && !(Array.isArray(c[field]) && c[field].every((v) => typeof v === "string"))) throw bad(field, "a list of strings");
    }
    for (const field of ["WorkingDir", "User", "StopSignal"] as const) if (c[field] != null && typeof c[field] !== "string") throw bad(field, "a string");
    for (const field of ["Labels", "ExposedPorts", "Volumes"] as const) {
      const v = c[field];
      if (v != null && (typeof v !== "object" || Array.isArray(v))) throw bad(field, "an object");
    }
    if (c.Labels != null && !Object.values(c.Labels).every((v) => typeof v === "string")) throw bad("Labels", "an object of strings");
  }
  if (doc.history != null && !Array.isArray(doc.history)) throw new UserError(`${what}: history must be a list`);
  return ids;
}

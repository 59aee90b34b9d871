// KEY=VALUE lists: labels (run's --label, volume create's --label), a volume's options, and the
// comma-separated fields of --mount, box build's --secret and --output, and a Dockerfile's RUN --mount.
import { UserError } from "../container/errors.ts";
import type { VolumeOptions } from "../container/volumes.ts";

/** `KEY=VALUE` or `KEY` (empty value), as docker run --label. */
export function parseLabels(entries: string[]): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const e of entries) {
    const eq = e.indexOf("=");
    const key = eq < 0 ? e : e.slice(0, eq);
    if (key === "" || /[\s\0]/.test(key)) throw new UserError(`invalid label "${e}"`);
    labels[key] = eq < 0 ? "" : e.slice(eq + 1);
  }
  return labels;
}

const VOLUME_OPTIONS = ["type", "device", "o"];

/**
 * The local driver's `-o KEY=VALUE` (volume create -o, --mount volume-opt): type and device of
 * a filesystem, o its mount options (`type=tmpfs,device=tmpfs,o=size=64m`; `type=none,o=bind,device=/srv`).
 */
export function parseVolumeOptions(entries: string[]): VolumeOptions {
  const options: VolumeOptions = {};
  for (const e of entries) {
    const eq = e.indexOf("=");
    const key = e.slice(0, eq);
    if (eq < 0 || !VOLUME_OPTIONS.includes(key)) throw new UserError(`invalid volume option "${e}": the local driver takes type=, device= and o=`);
    options[key as keyof VolumeOptions] = e.slice(eq + 1);
  }
  if (options.type === undefined && (options.device !== undefined || options.o !== undefined)) throw new UserError("invalid volume options: device= and o= need type= (tmpfs, or none with o=bind)");
  if (options.type !== undefined && options.type !== "tmpfs" && !(options.type === "none" && options.o?.split(",").includes("bind"))) {
    throw new UserError(`invalid volume options: type=${options.type}: box's local driver makes tmpfs volumes and binds (type=none,o=bind,device=PATH)`);
  }
  if (options.type === "none" && !options.device?.startsWith("/")) throw new UserError("invalid volume options: a bind volume needs device=/absolute/path");
  return options;
}

/**
 * The fields of a comma-separated KEY=VALUE list, in order: keys trimmed (the caller refuses an
 * empty one), a bare KEY's value undefined; an empty field is ["", undefined].
 */
export function commaFields(text: string): [key: string, value: string | undefined][] {
  return text.split(",").map((field) => {
    const eq = field.indexOf("=");
    return eq < 0 ? [field.trim(), undefined] : [field.slice(0, eq).trim(), field.slice(eq + 1)];
  });
}

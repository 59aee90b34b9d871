// A runtime-spec mount ({destination, type, source, options}) turned into mount(2)'s flags and
// data once, as runc reads the options: flags set or cleared by name, propagation apart, the
// rest passed to the filesystem.
import { isAbsolute, join, normalize } from "../path.ts";
import { refuse } from "./refuse.ts";
import {
  MS_BIND, MS_DIRSYNC, MS_LAZYTIME, MS_MANDLOCK, MS_NOATIME, MS_NODEV, MS_NODIRATIME, MS_NOEXEC, MS_NOSUID, MS_NOSYMFOLLOW,
  MS_PRIVATE, MS_RDONLY, MS_REC, MS_RELATIME, MS_SHARED, MS_SLAVE, MS_STRICTATIME, MS_SYNCHRONOUS, MS_UNBINDABLE,
} from "../sys/constants.ts";
import type { MountSpec } from "../container/spec.ts";

/** option → [flags it sets, flags it clears] */
export const FLAGS: Record<string, [number, number]> = {
  ro: [MS_RDONLY, 0], rw: [0, MS_RDONLY],
  nosuid: [MS_NOSUID, 0], suid: [0, MS_NOSUID],
  nodev: [MS_NODEV, 0], dev: [0, MS_NODEV],
  noexec: [MS_NOEXEC, 0], exec: [0, MS_NOEXEC],
  sync: [MS_SYNCHRONOUS, 0], async: [0, MS_SYNCHRONOUS],
  dirsync: [MS_DIRSYNC, 0],
  mand: [MS_MANDLOCK, 0], nomand: [0, MS_MANDLOCK],
  noatime: [MS_NOATIME, 0], atime: [0, MS_NOATIME],
  nodiratime: [MS_NODIRATIME, 0], diratime: [0, MS_NODIRATIME],
  relatime: [MS_RELATIME, 0], norelatime: [0, MS_RELATIME],
  strictatime: [MS_STRICTATIME, 0], nostrictatime: [0, MS_STRICTATIME],
  lazytime: [MS_LAZYTIME, 0], nolazytime: [0, MS_LAZYTIME],
  nosymfollow: [MS_NOSYMFOLLOW, 0], symfollow: [0, MS_NOSYMFOLLOW],
  bind: [MS_BIND, 0], rbind: [MS_BIND | MS_REC, 0],
};

export const PROPAGATION: Record<string, number> = {
  private: MS_PRIVATE, rprivate: MS_PRIVATE | MS_REC, slave: MS_SLAVE, rslave: MS_SLAVE | MS_REC,
  shared: MS_SHARED, rshared: MS_SHARED | MS_REC, unbindable: MS_UNBINDABLE, runbindable: MS_UNBINDABLE | MS_REC,
};

/** Options runc knows that box cannot honour: refused by name, never passed on as data. */
const REFUSED = new Set(["idmap", "ridmap", "tmpcopyup", "rrw", "rnosuid", "rsuid", "rnodev", "rdev", "rnoexec", "rexec", "rnoatime", "ratime", "rrelatime", "rnorelatime", "rstrictatime", "rnostrictatime", "rnosymfollow", "rsymfollow", "rnodiratime", "rdiratime", "remount", "recursive"]);


export function mountSpec(v: unknown, where: string, bundle: string): MountSpec {
  if (typeof v !== "object" || v === null || Array.isArray(v)) refuse(where, "must be an object");
  // A property box does not know is ignored (the runtime spec's rule), as in the rest of the config.
  const m = v as Record<string, unknown>;
  for (const key of ["uidMappings", "gidMappings"]) {
    if (Array.isArray(m[key]) && (m[key] as unknown[]).length) refuse(`${where}.${key}`, "idmapped mounts of a bundle are not supported by box");
  }
  const str = (key: string) => {
    const s = m[key];
    if (s === undefined || s === null) return undefined;
    if (typeof s !== "string" || s.includes("\0")) refuse(`${where}.${key}`, "must be a string");
    return s;
  };
  const destination = str("destination");
  if (!destination || !isAbsolute(destination)) refuse(`${where}.destination`, `${JSON.stringify(destination ?? null)} is not an absolute path`);
  const options = m.options ?? [];
  if (!Array.isArray(options) || options.some((o) => typeof o !== "string")) refuse(`${where}.options`, "must be an array of strings");
  let flags = 0;
  let propagation = 0;
  let recursiveReadOnly = false;
  const data: string[] = [];
  for (const o of options as string[]) {
    if (o in FLAGS) {
      const [set, clear] = FLAGS[o]!;
      flags = (flags | set) & ~clear;
    } else if (o in PROPAGATION) propagation = PROPAGATION[o]!;
    else if (o === "rro") recursiveReadOnly = true;
    else if (REFUSED.has(o)) refuse(`${where}.options`, `"${o}" is not supported by box`);
    else data.push(o);
  }
  let type = str("type") ?? "";
  if (type === "bind") flags |= MS_BIND;
  if (flags & MS_BIND) type = "bind";
  if (!type) refuse(`${where}.type`, "missing (and no bind option)");
  let source = str("source") ?? type;
  if (type === "bind") {
    // A filesystem's options (a tmpfs's mode=, size=) mean nothing to a bind mount: runc passes them
    // to mount(2), which ignores them with MS_BIND.
    data.length = 0;
    // As runc: a relative source is the bundle's.
    source = normalize(isAbsolute(source) ? source : join(bundle, source));
  }
  if ((type === "cgroup" || type === "cgroup2") && normalize(destination) !== "/sys/fs/cgroup") refuse(`${where}.destination`, "box mounts cgroupfs at /sys/fs/cgroup only");
  return {
    destination: normalize(destination),
    type,
    source,
    flags,
    ...(data.length ? { data: data.join(",") } : {}),
    ...(propagation ? { propagation } : {}),
    ...(recursiveReadOnly ? { recursiveReadOnly } : {}),
  };
}

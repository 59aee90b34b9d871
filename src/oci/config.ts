// A runtime-spec bundle's config.json (1.0 to 1.2, the Linux part) turned into box's one
// validated ContainerSpec. Every field is either honoured or refused with one line naming it:
// nothing is skipped silently.
import { callerFileLimit, close, isErrno, mkdirs, open, readAll, readFile, stat, writeFileAtomic } from "../sys/fs.ts";
import { kernelRelease } from "../sys/kernel.ts";
import { Errno } from "../sys/errors.ts";
import { O_RDONLY } from "../sys/constants.ts";
import { isAbsolute, join, normalize } from "../path.ts";
import { UserError } from "../container/errors.ts";
import { CAPABILITIES, grantableCapabilities } from "../security/capabilities.ts";
import { RLIMITS, parseSysctl, type DeviceSpec, type Ulimit } from "../security/options.ts";
import { checkMap, type UsernsSpec } from "../security/userns.ts";
import type { IdRange } from "../sys/userns.ts";
import { compile, notifies, profileFilter, SECCOMP_FILTER_FLAGS, type Filter } from "../security/seccomp.ts";
import type { CapabilitySets, ContainerSpec, DeviceRate, Hook, Hooks, MountSpec, NamespaceChoice, ResourceSpec, RuntimeSettings } from "../container/spec.ts";
import { mountSpec, PROPAGATION } from "./mount-options.ts";
import { refuse } from "./refuse.ts";
import { CGROUP_PARENT } from "../cgroup/paths.ts";
import { defaultDeviceAllows, deviceRulesEnforced } from "../cgroup/devices.ts";
import { apparmorEnabled } from "../security/apparmor.ts";
import { selinuxEnabled } from "../security/selinux.ts";
import { detectCgroups } from "../cgroup/detect.ts";
import { workdirProblem } from "../container/workdir.ts";

type Json = Record<string, unknown>;


/** An object whose keys are all among `known` (null counts as absent, as Go's decoder has it). */
/**
 * An object of the config. A property box does not know is ignored, as the runtime spec requires
 * of a runtime (a newer spec's field, a vendor's); the ones box knows and cannot honour are refused
 * by name where they are read.
 */
function object(v: unknown, where: string): Json | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "object" || Array.isArray(v)) refuse(where, "must be an object");
  return v as Json;
}

function string(v: unknown, where: string): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "string") refuse(where, "must be a string");
  return v;
}

function boolean(v: unknown, where: string): boolean | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "boolean") refuse(where, "must be true or false");
  return v;
}

/** JSON numbers past 2^53 (Go's uint64 max for "unlimited") come back rounded: `huge` says what they mean. */
function integer(v: unknown, where: string, min = -(2 ** 53), max = 2 ** 53): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "number" || !Number.isInteger(v)) refuse(where, "must be an integer");
  if (v < min || v > max) refuse(where, `${v} is out of range (${min} to ${max})`);
  return v;
}

function list(v: unknown, where: string): unknown[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) refuse(where, "must be an array");
  return v;
}

function strings(v: unknown, where: string): string[] {
  return list(v, where).map((s, i) => string(s, `${where}[${i}]`) ?? refuse(`${where}[${i}]`, "must be a string"));
}

/** A field box has no way to honour: refused if it says anything. */
function unsupported(o: Json, key: string, where: string, why = "not supported by box"): void {
  const v = o[key];
  if (v === undefined || v === null || v === "" || v === false || (Array.isArray(v) && v.length === 0) || (typeof v === "object" && !Array.isArray(v) && Object.keys(v).length === 0)) return;
  refuse(`${where}.${key}`, why);
}

function absolutePath(v: unknown, where: string): string {
  const p = string(v, where);
  if (!p || !isAbsolute(p)) refuse(where, `${JSON.stringify(p ?? null)} is not an absolute path`);
  if (p.includes("\0")) refuse(where, "contains a NUL byte");
  return normalize(p);
}

/**
 * box's init reaches its own descriptors (its state, the host's /proc) through /proc/self/fd
 * once it has pivoted: a bundle must mount proc at /proc (runc's and containerd's bundles do).
 */
function withProc(mounts: MountSpec[]): MountSpec[] {
  if (!mounts.some((m) => m.type === "proc" && normalize(m.destination) === "/proc")) refuse("mounts", "box needs a proc mount at /proc (its init reaches its own state through it)");
  return mounts;
}

function workingDirectory(v: unknown, where: string): string {
  const p = absolutePath(v, where);
  const problem = workdirProblem(p);
  if (problem) refuse(where, `"${p}": ${problem}`);
  return p;
}

const NAMESPACE_TYPES = ["mount", "pid", "network", "ipc", "uts", "user", "cgroup", "time"] as const;

function namespaces(v: unknown): { choices: NonNullable<ContainerSpec["namespaces"]>; cgroup: boolean; time: boolean; user: boolean; network: string; pidMode?: string } {
  const given = new Map<string, string | undefined>();
  for (const [i, n] of list(v, "linux.namespaces").entries()) {
    const where = `linux.namespaces[${i}]`;
    const o = object(n, where)!;
    const type = string(o.type, `${where}.type`) ?? refuse(`${where}.type`, "missing");
    if (!(NAMESPACE_TYPES as readonly string[]).includes(type)) refuse(`${where}.type`, `unknown namespace type "${type}"`);
    const path = string(o.path, `${where}.path`) || undefined;
    if (path !== undefined && !isAbsolute(path)) refuse(`${where}.path`, `${path} is not an absolute path`);
    // The same one twice says nothing more (runc 1.1 takes it); two different ones contradict.
    if (given.has(type) && given.get(type) !== path) refuse(where, `namespace "${type}" is listed twice, differently`);
    given.set(type, path);
  }
  // box's init builds the rootfs in a new mount namespace.
  if (!given.has("mount")) refuse("linux.namespaces", 'box always runs a container in a new mount namespace; add {"type":"mount"}');
  if (given.get("mount") !== undefined) refuse("linux.namespaces", "joining an existing mount namespace (path) is not supported by box");
  // The process in the caller's pid namespace (none listed), or in one joined by path (a pod's).
  const pid = given.get("pid");
  const pidMode = !given.has("pid") ? "host" : pid === undefined ? undefined : `ns:${pid}`;
  for (const type of ["user", "cgroup", "time"]) {
    if (given.get(type) !== undefined) refuse("linux.namespaces", `joining an existing ${type} namespace (path) is not supported by box`);
  }
  const choice = (type: string): NamespaceChoice | undefined => {
    if (!given.has(type)) return "host";
    const path = given.get(type);
    return path === undefined ? undefined : { path };
  };
  const choices: NonNullable<ContainerSpec["namespaces"]> = {};
  for (const [type, key] of [["uts", "uts"], ["ipc", "ipc"], ["network", "net"]] as const) {
    const c = choice(type);
    if (c !== undefined) choices[key] = c;
  }
  const net = choices.net;
  return { choices, cgroup: given.has("cgroup"), time: given.has("time"), user: given.has("user"), network: net === "host" ? "host" : "none", ...(pidMode ? { pidMode } : {}) };
}

function idMap(v: unknown, where: string): IdRange[] {
  const ranges = list(v, where).map((r, i) => {
    const o = object(r, `${where}[${i}]`)!;
    const id = (k: string) => integer(o[k], `${where}[${i}].${k}`, 0, 2 ** 32 - 2) ?? refuse(`${where}[${i}].${k}`, "missing");
    const size = integer(o.size, `${where}[${i}].size`, 1, 2 ** 32 - 1) ?? refuse(`${where}[${i}].size`, "missing");
    return { container: id("containerID"), host: id("hostID"), size };
  });
  try {
    checkMap(ranges, where);
  } catch (e) {
    refuse(where, (e as Error).message);
  }
  return ranges;
}

/**
 * A new user namespace with the bundle's maps. As runc, the rootfs is used as it is (its files
 * owned by the host ids the maps give), not through an idmapped mount as box run's --userns.
 */
function userNamespace(wanted: boolean, uidMappings: unknown, gidMappings: unknown): UsernsSpec | undefined {
  const uidMap = idMap(uidMappings, "linux.uidMappings");
  const gidMap = idMap(gidMappings, "linux.gidMappings");
  if (!wanted) {
    if (uidMap.length || gidMap.length) refuse("linux.uidMappings", "maps need a user namespace in linux.namespaces");
    return undefined;
  }
  if (!uidMap.length || !gidMap.length) refuse("linux.namespaces", "a user namespace needs linux.uidMappings and linux.gidMappings");
  return { mode: "map", uidMap, gidMap };
}

/** Capability names without CAP_, each once. */
function capabilitySet(v: unknown, where: string): string[] {
  const names = strings(v, where).map((c, i) => {
    const name = c.toUpperCase().replace(/^CAP_/, "");
    if (!(name in CAPABILITIES)) refuse(`${where}[${i}]`, `unknown capability "${c}"`);
    return name;
  });
  return [...new Set(names)];
}

/**
 * The five sets as runc applies them: bounding, then effective, permitted and inheritable as
 * given (for another user kept through the user switch), then the ambient ones, which survive the
 * execve of a user other than root. A set not given is empty. At the process's execve the kernel
 * gives root the bounding set (and what is inheritable) whatever was asked, as under runc.
 */
function capabilities(v: unknown, where: string): { bounding: string[]; sets: CapabilitySets } {
  const o = object(v, where) ?? {};
  const host = grantableCapabilities();
  // Where nothing can hold device nodes back (no v1 devices controller, no v2 device program), the
  // process may not make any, as box run's (Docker's default bundle asks for CAP_MKNOD). One this
  // kernel does not know is left out, as runc leaves it; one it knows but box may not give (the
  // host took it from box) is an error, as the spec requires.
  const usable = (set: string[], at: string) =>
    Object.keys(CAPABILITIES).filter((c) => {
      const bit = CAPABILITIES[c]!;
      if (!set.includes(c) || bit > host.lastKnown || (c === "MKNOD" && !deviceRulesEnforced())) return false;
      if (!((host.bounding >> BigInt(bit)) & 1n)) refuse(at, `CAP_${c} cannot be granted: this host does not let box have it`);
      return true;
    });
  const set = (key: string) => usable(o[key] === undefined || o[key] === null ? [] : capabilitySet(o[key], `${where}.${key}`), `${where}.${key}`);
  return { bounding: set("bounding"), sets: { effective: set("effective"), permitted: set("permitted"), inheritable: set("inheritable"), ambient: set("ambient") } };
}

const UNLIMITED = 2 ** 63;

/** The process's limits; the open files one, when not given, the caller's (Bun raised box's own soft limit at its start). */
function rlimits(v: unknown, at: string): Ulimit[] {
  const given = list(v, at).map((r, i) => {
    const where = `${at}[${i}]`;
    const o = object(r, where)!;
    const type = string(o.type, `${where}.type`) ?? refuse(`${where}.type`, "missing");
    const name = type.replace(/^RLIMIT_/, "").toLowerCase();
    if (!type.startsWith("RLIMIT_") || !(name in RLIMITS)) refuse(`${where}.type`, `unknown resource limit "${type}"`);
    // Go's 2^64-1 (RLIM_INFINITY) arrives rounded up past 2^63.
    const value = (k: "soft" | "hard") => {
      const n = o[k];
      if (typeof n === "number" && n >= UNLIMITED) return -1;
      return integer(n, `${where}.${k}`, 0) ?? refuse(`${where}.${k}`, "missing");
    };
    return { name, soft: value("soft"), hard: value("hard") };
  });
  return given.some((l) => l.name === "nofile") ? given : [...given, { name: "nofile", ...callerFileLimit() }];
}

const HOOK_KINDS = ["prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"] as const;

function hooks(v: unknown): Hooks {
  const o = object(v, "hooks");
  const out: Hooks = {};
  if (!o) return out;
  for (const kind of HOOK_KINDS) {
    const entries = list(o[kind], `hooks.${kind}`).map((h, i): Hook => {
      const where = `hooks.${kind}[${i}]`;
      const e = object(h, where)!;
      const timeout = integer(e.timeout, `${where}.timeout`, 1, 86400);
      return { path: absolutePath(e.path, `${where}.path`), args: strings(e.args, `${where}.args`), env: strings(e.env, `${where}.env`), ...(timeout === undefined ? {} : { timeout }) };
    });
    if (entries.length) out[kind] = entries;
  }
  return out;
}

/** linux.devices; /dev/ptmx stays the link to the container's own devpts ptmx (runc's rule), whatever the list says. */
function devices(v: unknown): DeviceSpec[] {
  return list(v, "linux.devices").map((d, i): DeviceSpec => {
    const where = `linux.devices[${i}]`;
    const o = object(d, where)!;
    const type = string(o.type, `${where}.type`);
    if (type !== "c" && type !== "b" && type !== "u" && type !== "p") refuse(`${where}.type`, `${JSON.stringify(type ?? null)}: box makes character (c, u), block (b) and FIFO (p) nodes`);
    if ((integer(o.uid, `${where}.uid`, 0) ?? 0) !== 0 || (integer(o.gid, `${where}.gid`, 0) ?? 0) !== 0) refuse(where, "devices owned by another user than root are not supported by box");
    const mode = integer(o.fileMode, `${where}.fileMode`, 0, 0o7777) ?? 0o666;
    return {
      source: "",
      target: absolutePath(o.path, `${where}.path`),
      type: type === "b" || type === "p" ? type : "c",
      major: type === "p" ? 0 : (integer(o.major, `${where}.major`, 0, 4095) ?? refuse(`${where}.major`, "missing")),
      minor: type === "p" ? 0 : (integer(o.minor, `${where}.minor`, 0, 2 ** 20 - 1) ?? refuse(`${where}.minor`, "missing")),
      mode,
      access: "rwm",
    };
  }).filter((d) => normalize(d.target) !== "/dev/ptmx");
}

/** The v1 devices cgroup's rules, in order; `a` alone is every device. */
function deviceRules(v: unknown): { allow: boolean; rule: string }[] | undefined {
  if (v === undefined || v === null) return undefined;
  return list(v, "linux.resources.devices").map((d, i) => {
    const where = `linux.resources.devices[${i}]`;
    const o = object(d, where)!;
    const allow = boolean(o.allow, `${where}.allow`) ?? refuse(`${where}.allow`, "missing");
    const type = string(o.type, `${where}.type`) ?? "a";
    if (!["a", "c", "b"].includes(type)) refuse(`${where}.type`, `"${type}": a, c or b`);
    const access = string(o.access, `${where}.access`) ?? "rwm";
    if (!/^[rwm]{1,3}$/.test(access)) refuse(`${where}.access`, `"${access}": some of r, w, m`);
    const num = (k: "major" | "minor") => {
      const n = integer(o[k], `${where}.${k}`, -1, 2 ** 20);
      return n === undefined || n === -1 ? "*" : String(n);
    };
    return { allow, rule: type === "a" ? "a" : `${type} ${num("major")}:${num("minor")} ${access}` };
  });
}

function rates(v: unknown, where: string): DeviceRate[] {
  return list(v, where).map((r, i) => {
    const o = object(r, `${where}[${i}]`)!;
    const major = integer(o.major, `${where}[${i}].major`, 0) ?? refuse(`${where}[${i}].major`, "missing");
    const minor = integer(o.minor, `${where}[${i}].minor`, 0) ?? refuse(`${where}[${i}].minor`, "missing");
    return { path: `${major}:${minor}`, major, minor, rate: integer(o.rate, `${where}[${i}].rate`, 0) ?? 0 };
  });
}

/**
 * LinuxResources' field names, as resources() reads them: runc reads `update --resources` with
 * Go's JSON, which takes a field's name in any case ({"CPU": {"Cpus": "0"}}), and so does box.
 */
const RESOURCE_FIELDS = [
  ...["devices", "memory", "cpu", "pids", "blockIO", "hugepageLimits", "network", "rdma", "unified"],
  ...["allow", "type", "major", "minor", "access"],
  ...["limit", "reservation", "swap", "kernel", "kernelTCP", "swappiness", "disableOOMKiller", "useHierarchy", "checkBeforeUpdate"],
  ...["shares", "quota", "burst", "period", "realtimeRuntime", "realtimePeriod", "cpus", "mems", "idle"],
  ...["weight", "leafWeight", "weightDevice", "throttleReadBpsDevice", "throttleWriteBpsDevice", "throttleReadIOPSDevice", "throttleWriteIOPSDevice", "rate"],
  ...["pageSize", "classID", "priorities", "name", "priority"],
];

/**
 * A LinuxResources document as Go's JSON reads it: a key that differs from a field's name only in
 * case is that field. The maps of free names (unified's files, rdma's devices) are left as they are.
 */
export function canonicalResources(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonicalResources);
  if (typeof v !== "object" || v === null) return v;
  return Object.fromEntries(
    Object.entries(v).map(([key, value]) => {
      const field = RESOURCE_FIELDS.find((f) => f.toLowerCase() === key.toLowerCase()) ?? key;
      return [field, field === "unified" || field === "rdma" ? value : canonicalResources(value)];
    }),
  );
}

export function resources(v: unknown): { resources: ResourceSpec; devices?: { allow: boolean; rule: string }[] } {
  const where = "linux.resources";
  const o = object(v, where) ?? {};
  const r: ResourceSpec = { deviceReadBps: [], deviceWriteBps: [], deviceReadIops: [], deviceWriteIops: [] };
  // What only one cgroup version has is applied there and ignored on the other, as runc does.
  const v1 = detectCgroups().version === 1;
  r.hugepageLimits = list(o.hugepageLimits, `${where}.hugepageLimits`).map((h, i) => {
    const e = object(h, `${where}.hugepageLimits[${i}]`)!;
    const pageSize = string(e.pageSize, `${where}.hugepageLimits[${i}].pageSize`) ?? "";
    if (!/^\d+[KMG]B$/.test(pageSize)) refuse(`${where}.hugepageLimits[${i}].pageSize`, `${JSON.stringify(pageSize)} is not a page size (2MB, 1GB)`);
    return { pageSize, limit: integer(e.limit, `${where}.hugepageLimits[${i}].limit`, 0) ?? 0 };
  });
  const network = object(o.network, `${where}.network`);
  if (network) {
    r.netClassId = integer(network.classID, `${where}.network.classID`, 0, 2 ** 32 - 1);
    r.netPriorities = list(network.priorities, `${where}.network.priorities`).map((p, i) => {
      const e = object(p, `${where}.network.priorities[${i}]`)!;
      const name = string(e.name, `${where}.network.priorities[${i}].name`) ?? "";
      if (!/^[\w.:-]{1,15}$/.test(name)) refuse(`${where}.network.priorities[${i}].name`, `${JSON.stringify(name)} is not an interface name`);
      return { name, priority: integer(e.priority, `${where}.network.priorities[${i}].priority`, 0, 2 ** 32 - 1) ?? 0 };
    });
  }
  const rdma = object(o.rdma, `${where}.rdma`) ?? {};
  r.rdma = Object.entries(rdma).map(([device, l]) => {
    if (!/^[\w.:-]+$/.test(device)) refuse(`${where}.rdma`, `${JSON.stringify(device)} is not a device name`);
    const e = object(l, `${where}.rdma.${device}`) ?? {};
    return { device, hcaHandles: integer(e.hcaHandles, `${where}.rdma.${device}.hcaHandles`, 0), hcaObjects: integer(e.hcaObjects, `${where}.rdma.${device}.hcaObjects`, 0) };
  });
  const unified = object(o.unified, `${where}.unified`) ?? {};
  for (const [file, value] of Object.entries(unified)) {
    if (!/^[a-z_]+\.[\w.]+$/.test(file)) refuse(`${where}.unified`, `${JSON.stringify(file)} is not a cgroup file name`);
    if (typeof value !== "string") refuse(`${where}.unified.${file}`, "must be a string");
  }
  if (Object.keys(unified).length) r.unified = unified as Record<string, string>;
  const memory = object(o.memory, `${where}.memory`);
  if (memory) {
    // Kernel memory limits are gone from the kernel (runc ignores them); use_hierarchy is always on;
    // checkBeforeUpdate is update's.
    const swappiness = integer(memory.swappiness, `${where}.memory.swappiness`, -1);
    if (v1 && swappiness !== undefined && swappiness >= 0 && swappiness <= 100) r.memorySwappiness = swappiness;
    const limit = integer(memory.limit, `${where}.memory.limit`, -1);
    // -1: no limit (runc's update --memory -1 takes one away).
    if (limit !== undefined && (limit > 0 || limit === -1)) r.memory = limit;
    const reservation = integer(memory.reservation, `${where}.memory.reservation`, -1);
    if (reservation !== undefined && reservation > 0) r.memoryReservation = reservation;
    const swap = integer(memory.swap, `${where}.memory.swap`, -1);
    if (swap !== undefined && swap !== 0) r.memorySwap = swap;
    if (v1 && boolean(memory.disableOOMKiller, `${where}.memory.disableOOMKiller`)) r.oomKillDisable = true;
  }
  const cpu = object(o.cpu, `${where}.cpu`);
  if (cpu) {
    r.cpuBurst = integer(cpu.burst, `${where}.cpu.burst`, 0);
    r.cpuIdle = integer(cpu.idle, `${where}.cpu.idle`, 0, 1);
    if (v1) {
      r.cpuRtPeriod = integer(cpu.realtimePeriod, `${where}.cpu.realtimePeriod`, 1) || undefined;
      r.cpuRtRuntime = integer(cpu.realtimeRuntime, `${where}.cpu.realtimeRuntime`, -1) || undefined;
    }
    const shares = integer(cpu.shares, `${where}.cpu.shares`, 0, 262144);
    if (shares) r.cpuShares = shares;
    const quota = integer(cpu.quota, `${where}.cpu.quota`, -1);
    if (quota !== undefined && (quota > 0 || quota === -1)) r.cpuQuota = quota;
    const period = integer(cpu.period, `${where}.cpu.period`, 0, 1000000);
    if (period) r.cpuPeriod = period;
    r.cpusetCpus = string(cpu.cpus, `${where}.cpu.cpus`) || undefined;
    r.cpusetMems = string(cpu.mems, `${where}.cpu.mems`) || undefined;
  }
  const pids = object(o.pids, `${where}.pids`);
  if (pids) {
    const limit = integer(pids.limit, `${where}.pids.limit`, -1);
    if (limit !== undefined) r.pidsLimit = limit <= 0 ? -1 : limit;
  }
  const io = object(o.blockIO, `${where}.blockIO`);
  if (io) {
    const weight = integer(io.weight, `${where}.blockIO.weight`, 0, 1000);
    if (weight) r.blkioWeight = weight;
    r.blkioLeafWeight = integer(io.leafWeight, `${where}.blockIO.leafWeight`, 0, 1000) || undefined;
    r.blkioWeightDevice = list(io.weightDevice, `${where}.blockIO.weightDevice`).flatMap((d, i) => {
      const e = object(d, `${where}.blockIO.weightDevice[${i}]`)!;
      const at = `${where}.blockIO.weightDevice[${i}]`;
      const w = integer(e.weight, `${at}.weight`, 0, 1000);
      return w ? [{ path: `${e.major}:${e.minor}`, major: integer(e.major, `${at}.major`, 0) ?? refuse(`${at}.major`, "missing"), minor: integer(e.minor, `${at}.minor`, 0) ?? refuse(`${at}.minor`, "missing"), rate: w }] : [];
    });
    r.deviceReadBps = rates(io.throttleReadBpsDevice, `${where}.blockIO.throttleReadBpsDevice`);
    r.deviceWriteBps = rates(io.throttleWriteBpsDevice, `${where}.blockIO.throttleWriteBpsDevice`);
    r.deviceReadIops = rates(io.throttleReadIOPSDevice, `${where}.blockIO.throttleReadIOPSDevice`);
    r.deviceWriteIops = rates(io.throttleWriteIOPSDevice, `${where}.blockIO.throttleWriteIOPSDevice`);
  }
  return { resources: r, devices: deviceRules(o.devices) };
}

/** linux.cgroupsPath relative to each hierarchy's root: absolute as given, relative under box's own parent. */
function cgroupPath(v: unknown, id: string): string {
  const p = string(v, "linux.cgroupsPath");
  if (!p) return `${CGROUP_PARENT}/${id}`;
  if (/^[^/]*:[^/]*:[^/]*$/.test(p)) refuse("linux.cgroupsPath", `"${p}" is a systemd slice path; box manages cgroups through cgroupfs only (no --systemd-cgroup)`);
  const parts = p.split("/").filter(Boolean);
  if (!parts.length || parts.some((s) => s === "." || s === ".." || s.includes("\0"))) refuse("linux.cgroupsPath", `"${p}" is not a usable cgroup path`);
  return (p.startsWith("/") ? parts : [CGROUP_PARENT, ...parts]).join("/");
}

type SeccompFields = Pick<ContainerSpec, "seccomp" | "seccompFlags" | "seccompAgent">;

/**
 * seccomp(), kept in `cache` by the profile's digest (with the capabilities and the kernel's
 * release, which the rules depend on): every container of Docker or a Kubernetes node has the
 * same profile, and compiling it is ~5 ms of cold JavaScript at each create. A profile that is
 * refused is never kept, so one that is found was checked as it would be now.
 */
function compiledSeccomp(v: unknown, caps: string[], cache: string | undefined): SeccompFields {
  if (cache === undefined || v === undefined || v === null) return seccomp(v, caps);
  const digest = new Bun.CryptoHasher("sha256").update(`${JSON.stringify(v)}\0${caps.join(",")}\0${kernelRelease()}`).digest("hex");
  const path = join(cache, digest);
  try {
    return JSON.parse(readFile(path)) as SeccompFields;
  } catch {
    // Not kept yet (or unreadable): compiled, and kept for the next.
  }
  const fields = seccomp(v, caps);
  try {
    mkdirs(cache, 0o700);
    writeFileAtomic(path, JSON.stringify(fields), 0o600);
  } catch {
    // A cache it cannot write only costs the next create the compile.
  }
  return fields;
}

function seccomp(v: unknown, caps: string[]): SeccompFields {
  const o = object(v, "linux.seccomp");
  if (!o) return {};
  const arches = strings(o.architectures, "linux.seccomp.architectures");
  // Another machine's (Docker's profiles list them all) cannot occur here: ignored, as runc's
  // libseccomp does; the filter is always x86_64's.
  for (const a of arches) if (!/^SCMP_ARCH_[A-Z0-9_]+$/.test(a)) refuse("linux.seccomp.architectures", `${JSON.stringify(a)} is not an architecture`);
  let flags = 0;
  for (const [i, name] of strings(o.flags, "linux.seccomp.flags").entries()) {
    const flag = SECCOMP_FILTER_FLAGS[name];
    if (flag === undefined) refuse(`linux.seccomp.flags[${i}]`, `${JSON.stringify(name)} is not a flag box knows (${Object.keys(SECCOMP_FILTER_FLAGS).join(", ")})`);
    flags |= flag;
  }
  const listenerPath = string(o.listenerPath, "linux.seccomp.listenerPath");
  const metadata = string(o.listenerMetadata, "linux.seccomp.listenerMetadata");
  let filter: Filter;
  try {
    filter = profileFilter(JSON.stringify(o), caps, true);
  } catch (e) {
    if (e instanceof UserError) refuse("linux.seccomp", e.message.replace(/^seccomp profile: /, ""));
    throw e;
  }
  // As runc: a listener only for a filter that notifies; one that does needs somewhere to send it.
  const agent = notifies(filter);
  // The kernel takes a killable wait only for a listener's notifications.
  if (!agent) flags &= ~SECCOMP_FILTER_FLAGS.SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV!;
  if (agent && !listenerPath) refuse("linux.seccomp.listenerPath", "is needed: the profile uses SCMP_ACT_NOTIFY, and its listener goes to the seccomp agent there");
  if (agent && !listenerPath!.startsWith("/")) refuse("linux.seccomp.listenerPath", `"${listenerPath}" must be an absolute path`);
  return {
    seccomp: compile(filter).toString("base64"),
    ...(flags ? { seccompFlags: flags } : {}),
    ...(agent ? { seccompAgent: { listenerPath: listenerPath!, ...(metadata ? { metadata } : {}) } } : {}),
  };
}

/** A runtime-spec process (config.json's, or `exec --process`'s), checked; `where` names it in errors. */
export function processSpec(v: unknown, where: string) {
  const p = object(v, where) ?? refuse(where, "missing (box oci runs a process)");
  for (const key of ["commandLine", "scheduler", "ioPriority", "execCPUAffinity"]) unsupported(p, key, where);
  if (selinuxEnabled()) unsupported(p, "selinuxLabel", where, "SELinux labels are not supported by box");
  const size = object(p.consoleSize, `${where}.consoleSize`);
  const apparmor = string(p.apparmorProfile, `${where}.apparmorProfile`);
  // As crun: a profile means nothing on a host without AppArmor (Docker sets one wherever it can).
  if (apparmor && apparmorEnabled()) refuse(`${where}.apparmorProfile`, "AppArmor profiles are not supported by box");
  const args = strings(p.args, `${where}.args`);
  if (!args.length) refuse(`${where}.args`, "must name the program to run");
  const env = strings(p.env, `${where}.env`);
  for (const [i, e] of env.entries()) if (!e.includes("=")) refuse(`${where}.env[${i}]`, `"${e}" is not KEY=VALUE`);
  const user = object(p.user, `${where}.user`) ?? {};
  unsupported(user, "username", `${where}.user`, "a Windows field");
  const id = (v: unknown, w: string) => integer(v, w, 0, 2 ** 32 - 2);
  const uid = id(user.uid, `${where}.user.uid`) ?? 0;
  return {
    args,
    env,
    cwd: workingDirectory(p.cwd, `${where}.cwd`),
    uid,
    gid: id(user.gid, `${where}.user.gid`) ?? 0,
    groups: list(user.additionalGids, `${where}.user.additionalGids`).map((g, i) => id(g, `${where}.user.additionalGids[${i}]`)!),
    umask: integer(user.umask, `${where}.user.umask`, 0, 0o777),
    caps: capabilities(p.capabilities, `${where}.capabilities`),
    consoleSize: size && { rows: integer(size.height, `${where}.consoleSize.height`, 0, 65535) ?? 0, columns: integer(size.width, `${where}.consoleSize.width`, 0, 65535) ?? 0 },
    terminal: boolean(p.terminal, `${where}.terminal`) === true,
    noNewPrivileges: boolean(p.noNewPrivileges, `${where}.noNewPrivileges`) === true,
    oomScoreAdj: integer(p.oomScoreAdj, `${where}.oomScoreAdj`, -1000, 1000),
    rlimits: rlimits(p.rlimits, `${where}.rlimits`),
  };
}

/** config.json, process.json, a resources file: a regular file of at most 4 MiB (never /dev/zero). */
export function readDocument(path: string, hint?: string): string {
  let st;
  try {
    st = stat(path);
  } catch {
    throw new UserError(`${path}: no such file${hint ? ` (${hint})` : ""}`);
  }
  // A pipe too (`exec -p <(...)`, runc's callers do it): the caller's own document, read with a bound.
  if (!st.isFile() && !st.isFIFO()) throw new UserError(`${path}: not a regular file or a pipe`);
  const fd = open(path, O_RDONLY);
  try {
    return readAll(fd, path, DOCUMENT_MAX).toString("utf8");
  } catch (e) {
    if (isErrno(e, Errno.EFBIG)) throw new UserError(`${path}: larger than 4 MiB`);
    throw e;
  } finally {
    close(fd);
  }
}

const DOCUMENT_MAX = 4 << 20;

export interface BundleOptions {
  id: string;
  bundle: string;
  /** Where compiled seccomp profiles are kept (see compiledSeccomp); none: compiled each time. */
  seccompCache?: string;
}

/** Reads BUNDLE/config.json into the spec box runs; throws one UserError naming the field. */
export function loadBundle(opts: BundleOptions): ContainerSpec {
  const bundle = normalize(isAbsolute(opts.bundle) ? opts.bundle : join(process.cwd(), opts.bundle));
  const text = readDocument(join(bundle, "config.json"), "is --bundle the bundle's directory?");
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new UserError(`config.json: not valid JSON (${(e as Error).message})`);
  }
  return translate(doc, opts.id, bundle, opts.seccompCache);
}

export function translate(doc: unknown, id: string, bundle: string, seccompCache?: string): ContainerSpec {
  const top = object(doc, "config") ?? refuse("config", "empty");
  const version = string(top.ociVersion, "ociVersion") ?? refuse("ociVersion", "missing");
  if (!/^1\.[0-2]\.\d+/.test(version)) refuse("ociVersion", `"${version}": box reads runtime-spec 1.0 to 1.2`);
  for (const key of ["solaris", "windows", "vm", "zos"]) unsupported(top, key, "config", "not a Linux container");

  const proc = processSpec(top.process, "process");
  const { args, env, cwd, uid, gid, groups, umask, caps, consoleSize } = proc;

  const root = object(top.root, "root") ?? refuse("root", "missing");
  const rootPath = string(root.path, "root.path") ?? refuse("root.path", "missing");
  const rootfs = normalize(isAbsolute(rootPath) ? rootPath : join(bundle, rootPath));
  try {
    if (!stat(rootfs).isDirectory()) refuse("root.path", `${rootfs} is not a directory`);
  } catch (e) {
    if (e instanceof UserError) throw e;
    refuse("root.path", `${rootfs} does not exist`);
  }

  const linux = object(top.linux, "linux") ?? refuse("linux", "missing (box runs Linux containers)");
  for (const key of ["timeOffsets", "rdmaDevice", "memoryPolicy", "netDevices"]) unsupported(linux, key, "linux");
  unsupported(linux, "intelRdt", "linux", "Intel RDT is not supported by box");
  if (selinuxEnabled()) unsupported(linux, "mountLabel", "linux", "SELinux labels are not supported by box");
  const personality = object(linux.personality, "linux.personality");
  if (personality) {
    const domain = string(personality.domain, "linux.personality.domain");
    if (domain && domain !== "LINUX") refuse("linux.personality.domain", `${domain}: box runs the host's own personality (LINUX) only`);
    unsupported(personality, "flags", "linux.personality");
  }
  const ns = namespaces(linux.namespaces);
  const userns = userNamespace(ns.user, linux.uidMappings, linux.gidMappings);
  const hostname = string(top.hostname, "hostname") ?? "";
  // A uts namespace joined by path is the container's to name, as under runc; the caller's is not.
  if (hostname && ns.choices.uts === "host") refuse("hostname", "needs a uts namespace of the container's (new, or joined by path)");
  const domainname = string(top.domainname, "domainname") || undefined;
  if (domainname && ns.choices.uts === "host") refuse("domainname", "needs a uts namespace of the container's (new, or joined by path)");
  const sysctls: Record<string, string> = {};
  const sysctl = object(linux.sysctl, "linux.sysctl") ?? {};
  for (const [key, value] of Object.entries(sysctl)) {
    const text = string(value, `linux.sysctl.${key}`) ?? "";
    let path: string, v: string;
    try {
      // A network namespace joined by path is another's: its sysctls are not this container's to set.
      [path, v] = parseSysctl(`${key}=${text}`, ns.choices.net !== undefined);
    } catch (e) {
      refuse(`linux.sysctl.${key}`, (e as Error).message);
    }
    if (!path.startsWith("net/") && ns.choices.ipc !== undefined) refuse(`linux.sysctl.${key}`, "an IPC sysctl needs a new ipc namespace (it would change another's)");
    sysctls[path] = v;
  }
  const propagation = string(linux.rootfsPropagation, "linux.rootfsPropagation");
  if (propagation && !(propagation in PROPAGATION)) refuse("linux.rootfsPropagation", `"${propagation}": one of ${Object.keys(PROPAGATION).join(", ")}`);
  const { resources: limits, devices: rules } = resources(linux.resources);
  const nodes = devices(linux.devices);
  const annotations = object(top.annotations, "annotations") ?? {};
  for (const [k, v] of Object.entries(annotations)) string(v, `annotations.${k}`);

  const runtime: RuntimeSettings = {
    mounts: withProc(list(top.mounts, "mounts").map((m, i) => mountSpec(m, `mounts[${i}]`, bundle))),
    maskedPaths: list(linux.maskedPaths, "linux.maskedPaths").map((p, i) => absolutePath(p, `linux.maskedPaths[${i}]`)),
    readonlyPaths: list(linux.readonlyPaths, "linux.readonlyPaths").map((p, i) => absolutePath(p, `linux.readonlyPaths[${i}]`)),
    cgroupNamespace: ns.cgroup,
    timeNamespace: ns.time,
    cgroupPath: cgroupPath(linux.cgroupsPath, id),
    // As runc: the bundle's rules, then the nodes every container's /dev has. linux.devices only
    // makes nodes: using one is what resources.devices allows (a /dev/kmsg listed there and
    // denied there stays closed).
    deviceRules: rules && [...rules.map((r) => `${r.allow ? "allow" : "deny"} ${r.rule}`), ...defaultDeviceAllows([])],
    groups,
    umask,
    ...(consoleSize ? { consoleSize } : {}),
    rootfsPropagation: propagation ? PROPAGATION[propagation] : undefined,
    bundle,
    hooks: hooks(top.hooks),
  };
  return {
    id,
    name: id,
    rootfs: { kind: "dir", path: rootfs },
    imageName: bundle,
    command: args,
    hostname,
    env,
    workdir: cwd,
    user: `${uid}:${gid}`,
    volumes: [],
    readOnly: boolean(root.readonly, "root.readonly") === true,
    remove: false,
    // The payload's stdin is the caller's, as runc's (containerd gives /dev/null or a pipe).
    interactive: true,
    tty: proc.terminal,
    network: ns.network,
    ports: [],
    resources: limits,
    capabilities: caps.bounding,
    capabilitySets: caps.sets,
    noNewPrivileges: proc.noNewPrivileges,
    ...compiledSeccomp(linux.seccomp, caps.bounding, seccompCache),
    devices: nodes,
    ulimits: proc.rlimits,
    sysctls,
    ...(userns ? { userns } : {}),
    detach: false,
    labels: {},
    log: { maxFiles: 1 },
    restart: { name: "no", maxRetries: 0 },
    created: new Date().toISOString(),
    namespaces: ns.choices,
    ...(ns.pidMode ? { pidMode: ns.pidMode } : {}),
    ...(domainname ? { domainname } : {}),
    ...(proc.oomScoreAdj !== undefined ? { oomScoreAdj: proc.oomScoreAdj } : {}),
    annotations: annotations as Record<string, string>,
    runtime,
  };
}

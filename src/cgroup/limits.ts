// Docker's resource flags as cgroup file writes, for v1 and for v2 (the conversions runc and
// Docker use), and applying them to a new container's cgroups before its payload joins.
import { exists, readdirIfExists, readFile, writeFile } from "../sys/fs.ts";
import { basename, dirname, join } from "../path.ts";
import { CGROUP_PARENT } from "./paths.ts";
import type { DeviceRate, ResourceSpec } from "../container/spec.ts";
import { UserError } from "../container/errors.ts";
import { describeError } from "../sys/errors.ts";
import { detectCgroups, type CgroupLayout } from "./detect.ts";
import { controllerDir } from "./events.ts";

export interface CgroupWrite {
  /** the flag it comes from, for error messages */
  flag: string;
  controller: string;
  /** the first of these files that exists is written */
  files: string[];
  value: string;
  /** a default rather than the user's request: skipped where the host lacks the file */
  optional?: boolean;
}

const DEFAULT_CPU_PERIOD = 100_000;

/** cpu.shares (2..262144) → cpu.weight (1..10000), as runc converts it. */
export function sharesToWeight(shares: number): number {
  return 1 + Math.floor(((shares - 2) * 9999) / 262142);
}

/** blkio.weight (10..1000) → io.weight (1..10000), as runc converts it. */
export function blkioToIoWeight(weight: number): number {
  return 1 + Math.floor(((weight - 10) * 9999) / 990);
}

function collector() {
  const w: CgroupWrite[] = [];
  const add = (flag: string, controller: string, files: string | string[], value: string | number, optional?: boolean) =>
    w.push({ flag, controller, files: Array.isArray(files) ? files : [files], value: String(value), ...(optional ? { optional } : {}) });
  return { w, add };
}

/** The limits of either version that are written where the host has the file (an OCI bundle's best effort). */
function bestEffortWrites(r: ResourceSpec, version: 1 | 2, add: ReturnType<typeof collector>["add"]): void {
  for (const h of r.hugepageLimits ?? []) add("hugepageLimits", "hugetlb", version === 1 ? `hugetlb.${h.pageSize}.limit_in_bytes` : `hugetlb.${h.pageSize}.max`, h.limit, true);
  if (r.cpuBurst !== undefined) add("cpu.burst", "cpu", version === 1 ? "cpu.cfs_burst_us" : "cpu.max.burst", r.cpuBurst, true);
  for (const d of r.rdma ?? []) add("rdma", "rdma", "rdma.max", `${d.device} hca_handle=${d.hcaHandles ?? "max"} hca_object=${d.hcaObjects ?? "max"}`, true);
  if (r.cpuIdle !== undefined) add("cpu.idle", "cpu", "cpu.idle", r.cpuIdle, true);
  if (version === 1) {
    if (r.netClassId !== undefined) add("network.classID", "net_cls", "net_cls.classid", r.netClassId, true);
    for (const p of r.netPriorities ?? []) add("network.priorities", "net_prio", "net_prio.ifpriomap", `${p.name} ${p.priority}`, true);
    if (r.blkioLeafWeight !== undefined) add("blockIO.leafWeight", "blkio", ["blkio.leaf_weight", "blkio.bfq.leaf_weight"], r.blkioLeafWeight, true);
  }
}

function v1Writes(r: ResourceSpec): CgroupWrite[] {
  const { w, add } = collector();
  if (r.memory !== undefined) {
    add("--memory", "memory", "memory.limit_in_bytes", r.memory);
    // Docker: without --memory-swap the container may use as much swap as memory (where the
    // kernel accounts swap at all).
    add("--memory-swap", "memory", "memory.memsw.limit_in_bytes", r.memorySwap ?? (r.memory < 0 ? -1 : r.memory * 2));
    if (r.memorySwap === undefined) w.at(-1)!.optional = true;
  }
  if (r.memoryReservation !== undefined) add("--memory-reservation", "memory", "memory.soft_limit_in_bytes", r.memoryReservation);
  if (r.oomKillDisable) add("--oom-kill-disable", "memory", "memory.oom_control", 1);
  if (r.cpuPeriod !== undefined) add("--cpu-period", "cpu", "cpu.cfs_period_us", r.cpuPeriod);
  if (r.cpuQuota !== undefined) add("--cpus", "cpu", "cpu.cfs_quota_us", r.cpuQuota);
  if (r.cpuShares !== undefined) add("--cpu-shares", "cpu", "cpu.shares", r.cpuShares);
  if (r.cpusetCpus !== undefined) add("--cpuset-cpus", "cpuset", "cpuset.cpus", r.cpusetCpus);
  if (r.cpusetMems !== undefined) add("--cpuset-mems", "cpuset", "cpuset.mems", r.cpusetMems);
  if (r.pidsLimit !== undefined) add("--pids-limit", "pids", "pids.max", r.pidsLimit < 0 ? "max" : r.pidsLimit);
  if (r.blkioWeight !== undefined) add("--blkio-weight", "blkio", ["blkio.weight", "blkio.bfq.weight"], r.blkioWeight);
  for (const d of r.blkioWeightDevice ?? []) add("--blkio-weight-device", "blkio", ["blkio.weight_device", "blkio.bfq.weight_device"], `${d.major}:${d.minor} ${d.rate}`);
  if (r.memorySwappiness !== undefined) add("--memory-swappiness", "memory", "memory.swappiness", r.memorySwappiness);
  if (r.cpuRtPeriod !== undefined) add("--cpu-rt-period", "cpu", "cpu.rt_period_us", r.cpuRtPeriod);
  if (r.cpuRtRuntime !== undefined) add("--cpu-rt-runtime", "cpu", "cpu.rt_runtime_us", r.cpuRtRuntime);
  const throttles: [string, string, DeviceRate[]][] = [
    ["--device-read-bps", "read_bps_device", r.deviceReadBps],
    ["--device-write-bps", "write_bps_device", r.deviceWriteBps],
    ["--device-read-iops", "read_iops_device", r.deviceReadIops],
    ["--device-write-iops", "write_iops_device", r.deviceWriteIops],
  ];
  for (const [flag, file, rates] of throttles) {
    for (const d of rates) add(flag, "blkio", `blkio.throttle.${file}`, `${d.major}:${d.minor} ${d.rate}`);
  }
  if (r.unified && Object.keys(r.unified).length) throw new UserError("invalid configuration: linux.resources.unified needs cgroup v2: this host's cgroups are v1");
  bestEffortWrites(r, 1, add);
  return w;
}

function v2Writes(r: ResourceSpec): CgroupWrite[] {
  const { w, add } = collector();
  if (r.memory !== undefined) {
    add("--memory", "memory", "memory.max", r.memory < 0 ? "max" : r.memory);
    // memory.swap.max counts swap alone: Docker's total minus the memory. -1 is no limit.
    const swap = r.memory < 0 || (r.memorySwap ?? 0) < 0 ? "max" : r.memorySwap === undefined ? r.memory : r.memorySwap - r.memory;
    add("--memory-swap", "memory", "memory.swap.max", swap);
    if (r.memorySwap === undefined) w.at(-1)!.optional = true;
  }
  if (r.memoryReservation !== undefined) add("--memory-reservation", "memory", "memory.low", r.memoryReservation);
  if (r.oomKillDisable) throw new UserError("--oom-kill-disable needs cgroup v1: cgroup v2 has no such switch");
  if (r.cpuQuota !== undefined || r.cpuPeriod !== undefined) {
    add("--cpus", "cpu", "cpu.max", `${r.cpuQuota === undefined || r.cpuQuota < 0 ? "max" : r.cpuQuota} ${r.cpuPeriod ?? DEFAULT_CPU_PERIOD}`);
  }
  if (r.cpuShares !== undefined) add("--cpu-shares", "cpu", "cpu.weight", sharesToWeight(r.cpuShares));
  if (r.cpusetCpus !== undefined) add("--cpuset-cpus", "cpuset", "cpuset.cpus", r.cpusetCpus);
  if (r.cpusetMems !== undefined) add("--cpuset-mems", "cpuset", "cpuset.mems", r.cpusetMems);
  if (r.pidsLimit !== undefined) add("--pids-limit", "pids", "pids.max", r.pidsLimit < 0 ? "max" : r.pidsLimit);
  if (r.blkioWeight !== undefined) add("--blkio-weight", "io", ["io.bfq.weight", "io.weight"], blkioToIoWeight(r.blkioWeight));
  for (const d of r.blkioWeightDevice ?? []) add("--blkio-weight-device", "io", ["io.bfq.weight", "io.weight"], `${d.major}:${d.minor} ${blkioToIoWeight(d.rate)}`);
  // cgroup v2 has no realtime group scheduling (swappiness is dropped with a warning when the flags are read).
  if (r.cpuRtPeriod !== undefined || r.cpuRtRuntime !== undefined) throw new UserError("--cpu-rt-period and --cpu-rt-runtime need cgroup v1: cgroup v2 has no realtime group scheduling");
  const perDevice = new Map<string, string[]>();
  const throttles: [string, DeviceRate[]][] = [
    ["rbps", r.deviceReadBps], ["wbps", r.deviceWriteBps], ["riops", r.deviceReadIops], ["wiops", r.deviceWriteIops],
  ];
  for (const [key, rates] of throttles) {
    for (const d of rates) perDevice.set(`${d.major}:${d.minor}`, [...(perDevice.get(`${d.major}:${d.minor}`) ?? []), `${key}=${d.rate}`]);
  }
  for (const [dev, limits] of perDevice) add("--device-{read,write}-{bps,iops}", "io", "io.max", `${dev} ${limits.join(" ")}`);
  bestEffortWrites(r, 2, add);
  return w;
}

export function limitWrites(r: ResourceSpec, version: 1 | 2): CgroupWrite[] {
  return version === 1 ? v1Writes(r) : v2Writes(r);
}

/** Refuses, with the flag's name, limits whose controller this host does not have. */
export function checkControllers(r: ResourceSpec, layout: CgroupLayout = detectCgroups()): void {
  const present = new Set(layout.hierarchies.flatMap((h) => h.controllers));
  for (const w of limitWrites(r, layout.version)) {
    if (!present.has(w.controller) && !w.optional) {
      throw new UserError(`${w.flag} needs the ${w.controller} cgroup controller, which this host does not have (see 'box info')`);
    }
  }
}

/**
 * Writes the limits into the container's cgroup dirs (one per hierarchy on v1). A write the
 * kernel refuses is tried again after the others: on a running container (`box update`) raising
 * v1's memory limit past the old memory+swap limit only works once that one was raised.
 */
export function applyLimits(r: ResourceSpec, dirs: string[], layout: CgroupLayout = detectCgroups()): void {
  const targets = limitWrites(r, layout.version).flatMap((w) => {
    const dir = controllerDir(dirs, w.controller, layout);
    if (dir === undefined && w.optional) return [];
    if (dir === undefined) throw new UserError(`${w.flag} needs the ${w.controller} cgroup controller, which this host does not have`);
    const file = w.files.find((f) => exists(join(dir, f)));
    if (!file && w.optional) return [];
    if (!file) throw new UserError(`${w.flag}: this host's ${w.controller} controller has no ${w.files.join(" or ")}`);
    return [{ ...w, path: join(dir, file), file }];
  });
  // v2's one directory: the files as the bundle names them (a controller's, or cgroup.*).
  for (const [file, value] of Object.entries(layout.version === 2 ? (r.unified ?? {}) : {})) {
    if (!exists(join(dirs[0]!, file))) throw new UserError(`linux.resources.unified: this host's cgroup v2 has no ${file}`);
    targets.push({ flag: `linux.resources.unified ${file}`, controller: "", files: [file], value, path: join(dirs[0]!, file), file });
  }
  const realtime = targets.find((w) => w.file === "cpu.rt_runtime_us");
  if (realtime && Number(realtime.value) > 0) reserveRealtime(dirname(realtime.path), Number(realtime.value) / (r.cpuRtPeriod ?? Number(readFile(join(dirname(realtime.path), "cpu.rt_period_us")))));
  const refused = targets.filter((w) => !tryWrite(w.path, w.value));
  for (const w of refused) {
    try {
      writeFile(w.path, w.value);
    } catch (e) {
      throw new UserError(`${w.flag}: writing ${w.value} to ${w.file}: ${describeError(e)}`);
    }
  }
}

/**
 * A v1 cgroup's realtime runtime comes out of its parent's, which is 0 for a new one. Docker
 * leaves that to the daemon's --cpu-rt-runtime; box, with no daemon, gives its own parent (box/)
 * what its containers ask for. A parent of the user's (--cgroup-parent) is not box's to change.
 * The kernel compares shares of a period: `share` is the new container's runtime/period.
 */
function reserveRealtime(dir: string, share: number): void {
  const parent = dirname(dir);
  if (basename(parent) !== CGROUP_PARENT || !detectCgroups().hierarchies.some((h) => h.mountpoint === dirname(parent))) return;
  const value = (d: string, f: string) => Number(readFile(join(d, f)).trim());
  const shareOf = (d: string) => value(d, "cpu.rt_runtime_us") / value(d, "cpu.rt_period_us");
  const siblings = readdirIfExists(parent).map((n) => join(parent, n)).filter((d) => d !== dir && exists(join(d, "cpu.rt_runtime_us")));
  const needed = Math.ceil(siblings.reduce((sum, d) => sum + shareOf(d), share) * value(parent, "cpu.rt_period_us"));
  if (value(parent, "cpu.rt_runtime_us") >= needed) return;
  try {
    writeFile(join(parent, "cpu.rt_runtime_us"), String(needed));
  } catch (e) {
    throw new UserError(`--cpu-rt-runtime: the host has no ${needed} µs of realtime runtime to give box's cgroups: ${describeError(e)}`);
  }
}

function tryWrite(path: string, value: string): boolean {
  try {
    writeFile(path, value);
    return true;
  } catch {
    return false;
  }
}

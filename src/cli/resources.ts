// `box run` resource flags → ResourceSpec, with Docker's units, defaults and checks.
import { readFile, stat } from "../sys/fs.ts";
import { UserError } from "../container/errors.ts";
import type { DeviceRate, ResourceSpec } from "../container/spec.ts";
import { checkControllers } from "../cgroup/limits.ts";
import { detectCgroups } from "../cgroup/detect.ts";
import { stderrLine } from "../stderr.ts";
import type { ParsedFlags } from "./flags.ts";

const UNITS: Record<string, number> = { "": 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4, p: 1024 ** 5 };
const MIN_MEMORY = 6 * 1024 * 1024;

/** Docker's RAMInBytes: "512", "64k", "1.5g", "1GB"; binary units. */
export function parseBytes(flag: string, text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([kmgtp]?)b?$/i.exec(text.trim());
  const value = m ? Math.floor(Number(m[1]) * UNITS[m[2]!.toLowerCase()]!) : NaN;
  if (!Number.isSafeInteger(value)) throw new UserError(`invalid value "${text}" for ${flag}: expected a size like 512m or 1g`);
  return value;
}

function parseInteger(flag: string, text: string, min: number, max: number): number {
  const n = /^-?\d+$/.test(text.trim()) ? Number(text) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) throw new UserError(`invalid value "${text}" for ${flag}: expected an integer from ${min} to ${max}`);
  return n;
}

/** "0-2,4" → [0, 1, 2, 4]; the kernel's list format (cpuset, /sys/devices/system/cpu/online). */
export function parseIdList(flag: string, text: string): number[] {
  const ids: number[] = [];
  for (const part of text.split(",")) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!m || (m[2] !== undefined && Number(m[2]) < Number(m[1]))) throw new UserError(`invalid value "${text}" for ${flag}: expected a list like 0-2,4`);
    for (let i = Number(m[1]); i <= Number(m[2] ?? m[1]); i++) ids.push(i);
  }
  return ids;
}

function onlineIds(path: string): number[] {
  try {
    return parseIdList(path, readFile(path).trim());
  } catch {
    return [0];
  }
}

function parseCpuset(flag: string, text: string, onlinePath: string, what: string): string {
  const online = onlineIds(onlinePath);
  for (const id of parseIdList(flag, text)) {
    if (!online.includes(id)) throw new UserError(`invalid value "${text}" for ${flag}: ${what} ${id} does not exist (this host has ${online.join(",")})`);
  }
  return text;
}

/** PATH:RATE for the device throttles; PATH must be a block device. */
function parseDeviceRate(flag: string, text: string, bytes: boolean, range: [number, number] = [1, Number.MAX_SAFE_INTEGER]): DeviceRate {
  const colon = text.lastIndexOf(":");
  if (colon <= 0) throw new UserError(`invalid value "${text}" for ${flag}: expected PATH:RATE`);
  const path = text.slice(0, colon);
  let st;
  try {
    st = stat(path);
  } catch {
    throw new UserError(`invalid value "${text}" for ${flag}: ${path} does not exist`);
  }
  if (!st.isBlockDevice()) throw new UserError(`invalid value "${text}" for ${flag}: ${path} is not a block device`);
  const rateText = text.slice(colon + 1);
  const rate = bytes ? parseBytes(flag, rateText) : parseInteger(flag, rateText, ...range);
  const rdev = Number(st.rdev);
  // glibc's major()/minor() of a dev_t
  return { path, major: ((rdev >> 8) & 0xfff) | Math.floor(rdev / 2 ** 32) & ~0xfff, minor: (rdev & 0xff) | ((rdev >> 12) & 0xfff00), rate };
}

export function buildResources(values: ParsedFlags["values"]): ResourceSpec {
  const str = (k: string) => (typeof values[k] === "string" ? (values[k] as string) : undefined);
  const list = (k: string) => (Array.isArray(values[k]) ? (values[k] as string[]) : []);
  const r: ResourceSpec = { deviceReadBps: [], deviceWriteBps: [], deviceReadIops: [], deviceWriteIops: [] };

  const memory = str("memory");
  if (memory !== undefined) {
    r.memory = parseBytes("--memory", memory);
    if (r.memory < MIN_MEMORY) throw new UserError(`invalid value "${memory}" for --memory: the minimum is 6m`);
  }
  const swap = str("memory-swap");
  if (swap !== undefined) {
    if (r.memory === undefined) throw new UserError("--memory-swap needs --memory as well");
    r.memorySwap = swap === "-1" ? -1 : parseBytes("--memory-swap", swap);
    if (r.memorySwap !== -1 && r.memorySwap < r.memory) throw new UserError(`invalid value "${swap}" for --memory-swap: it counts memory plus swap, so it must be at least --memory`);
  }
  const reservation = str("memory-reservation");
  if (reservation !== undefined) {
    r.memoryReservation = parseBytes("--memory-reservation", reservation);
    if (r.memory !== undefined && r.memoryReservation > r.memory) throw new UserError("--memory-reservation must be smaller than --memory");
  }
  if (values["oom-kill-disable"] === true) r.oomKillDisable = true;

  const cpus = str("cpus");
  const available = onlineIds("/sys/devices/system/cpu/online").length;
  if (cpus !== undefined) {
    if (str("cpu-period") !== undefined || str("cpu-quota") !== undefined) throw new UserError("--cpus cannot be combined with --cpu-period or --cpu-quota");
    const n = /^\d*\.?\d+$/.test(cpus.trim()) ? Number(cpus) : NaN;
    if (!(n >= 0.01 && n <= available)) throw new UserError(`invalid value "${cpus}" for --cpus: the range is 0.01 to ${available} (this host has ${available} CPUs)`);
    r.cpuPeriod = 100_000;
    r.cpuQuota = Math.round(n * 100_000);
  }
  if (str("cpu-period") !== undefined) r.cpuPeriod = parseInteger("--cpu-period", str("cpu-period")!, 1000, 1_000_000);
  if (str("cpu-quota") !== undefined) {
    r.cpuQuota = parseInteger("--cpu-quota", str("cpu-quota")!, -1, Number.MAX_SAFE_INTEGER);
    if (r.cpuQuota >= 0 && r.cpuQuota < 1000) throw new UserError(`invalid value "${r.cpuQuota}" for --cpu-quota: the minimum is 1000 (µs), or -1 for none`);
  }
  if (str("cpu-shares") !== undefined) r.cpuShares = parseInteger("--cpu-shares", str("cpu-shares")!, 2, 262144);
  if (str("cpuset-cpus") !== undefined) r.cpusetCpus = parseCpuset("--cpuset-cpus", str("cpuset-cpus")!, "/sys/devices/system/cpu/online", "CPU");
  if (str("cpuset-mems") !== undefined) r.cpusetMems = parseCpuset("--cpuset-mems", str("cpuset-mems")!, "/sys/devices/system/node/online", "memory node");
  if (str("pids-limit") !== undefined) {
    const n = parseInteger("--pids-limit", str("pids-limit")!, -1, 4194304);
    r.pidsLimit = n <= 0 ? -1 : n;
  }
  if (str("blkio-weight") !== undefined) r.blkioWeight = parseInteger("--blkio-weight", str("blkio-weight")!, 10, 1000);
  if (list("blkio-weight-device").length) r.blkioWeightDevice = list("blkio-weight-device").map((t) => parseDeviceRate("--blkio-weight-device", t, false, [10, 1000]));
  if (str("memory-swappiness") !== undefined) {
    const n = parseInteger("--memory-swappiness", str("memory-swappiness")!, -1, 100);
    // -1 is Docker's "the host's": nothing is written. cgroup v2 has no such file: Docker drops it too.
    if (n >= 0 && detectCgroups().version === 2) stderrLine("warning", "cgroup v2 has no per-cgroup swappiness: --memory-swappiness is ignored");
    else if (n >= 0) r.memorySwappiness = n;
  }
  if (str("cpu-rt-period") !== undefined) r.cpuRtPeriod = parseInteger("--cpu-rt-period", str("cpu-rt-period")!, 1, 1_000_000);
  if (str("cpu-rt-runtime") !== undefined) {
    r.cpuRtRuntime = parseInteger("--cpu-rt-runtime", str("cpu-rt-runtime")!, -1, 1_000_000);
    if (r.cpuRtRuntime > (r.cpuRtPeriod ?? 1_000_000)) throw new UserError("--cpu-rt-runtime cannot be higher than --cpu-rt-period");
  }
  r.deviceReadBps = list("device-read-bps").map((t) => parseDeviceRate("--device-read-bps", t, true));
  r.deviceWriteBps = list("device-write-bps").map((t) => parseDeviceRate("--device-write-bps", t, true));
  r.deviceReadIops = list("device-read-iops").map((t) => parseDeviceRate("--device-read-iops", t, false));
  r.deviceWriteIops = list("device-write-iops").map((t) => parseDeviceRate("--device-write-iops", t, false));
  checkControllers(r);
  return r;
}

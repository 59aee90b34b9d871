// Counters of a container's cgroup, for `box stats`: the same numbers on v1 and v2.
import { readFile } from "../sys/fs.ts";
import { join } from "../path.ts";
import { detectCgroups, type CgroupLayout } from "./detect.ts";
import { controllerDir } from "./events.ts";

export interface CgroupStats {
  /** total CPU time used, ns */
  cpuNs: number;
  /** bytes in use, page cache that could be dropped not counted (as Docker reports it) */
  memoryUsage: number;
  /** the limit, or the host's memory when there is none */
  memoryLimit: number;
  pids: number;
  blockRead: number;
  blockWrite: number;
}

function readText(dir: string | undefined, file: string): string {
  if (dir === undefined) return "";
  try {
    return readFile(join(dir, file));
  } catch {
    return "";
  }
}

/** The host's RAM in bytes (MemTotal), what `docker stats` shows as the limit of an unlimited container. */
function hostMemory(): number {
  return Number(/^MemTotal:\s+(\d+) kB$/m.exec(readFile("/proc/meminfo"))?.[1] ?? 0) * 1024;
}

function statField(text: string, key: string): number {
  return Number(new RegExp(`^${key} (\\d+)$`, "m").exec(text)?.[1] ?? 0);
}

export function readStats(dirs: string[], layout: CgroupLayout = detectCgroups()): CgroupStats {
  const dir = (c: string) => controllerDir(dirs, c, layout);
  const host = hostMemory();
  const limitOf = (text: string) => {
    const n = Number(text.trim());
    return text.trim() === "max" || !Number.isFinite(n) || n === 0 || n > host ? host : n;
  };
  if (layout.version === 1) {
    const memStat = readText(dir("memory"), "memory.stat");
    const io = readText(dir("blkio"), "blkio.throttle.io_service_bytes_recursive");
    const sumOf = (op: string) => [...io.matchAll(new RegExp(`^\\d+:\\d+ ${op} (\\d+)$`, "gm"))].reduce((a, m) => a + Number(m[1]), 0);
    return {
      cpuNs: Number(readText(dir("cpuacct"), "cpuacct.usage").trim() || 0),
      memoryUsage: Math.max(0, Number(readText(dir("memory"), "memory.usage_in_bytes").trim() || 0) - statField(memStat, "total_inactive_file")),
      memoryLimit: limitOf(readText(dir("memory"), "memory.limit_in_bytes")),
      pids: Number(readText(dir("pids"), "pids.current").trim() || 0),
      blockRead: sumOf("Read"),
      blockWrite: sumOf("Write"),
    };
  }
  const d = dirs[0];
  const memStat = readText(d, "memory.stat");
  const io = readText(d, "io.stat");
  const sumOf = (key: string) => [...io.matchAll(new RegExp(`\\b${key}=(\\d+)`, "g"))].reduce((a, m) => a + Number(m[1]), 0);
  return {
    cpuNs: statField(readText(d, "cpu.stat"), "usage_usec") * 1000,
    memoryUsage: Math.max(0, Number(readText(d, "memory.current").trim() || 0) - statField(memStat, "inactive_file")),
    memoryLimit: limitOf(readText(d, "memory.max")),
    pids: Number(readText(d, "pids.current").trim() || 0),
    blockRead: sumOf("rbytes"),
    blockWrite: sumOf("wbytes"),
  };
}

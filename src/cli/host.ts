// Facts about the host and the store that `box info`, `box version` and `box system df` report.
import { arch, cpus, hostname } from "node:os";
import { listContainers } from "../container/lookup.ts";
import { liveContainer, type LiveContainer } from "../container/live.ts";
import { stateOf } from "../container/describe.ts";
import type { Store } from "../container/store.ts";
import { readFile } from "../sys/fs.ts";

/** Docker's names for the architecture (GOARCH) and the machine (uname -m). */
export const GOARCH = ({ x64: "amd64", arm64: "arm64", arm: "arm", ia32: "386", ppc64: "ppc64le", s390x: "s390x", riscv64: "riscv64" } as Record<string, string>)[arch()] ?? arch();
export const MACHINE = ({ amd64: "x86_64", arm64: "aarch64", "386": "i686" } as Record<string, string>)[GOARCH] ?? GOARCH;

export function operatingSystem(): string {
  try {
    return /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(readFile("/etc/os-release"))?.[1] ?? "Linux";
  } catch {
    return "Linux";
  }
}

export function hostMemory(): number {
  return Number(/^MemTotal:\s+(\d+) kB$/m.exec(readFile("/proc/meminfo"))?.[1] ?? 0) * 1024;
}

export function cpuCount(): number {
  return cpus().length;
}

export function hostName(): string {
  return hostname();
}

/** Running, paused and restarting containers are active (Docker's rule for df and info). */
export function isActive(c: LiveContainer): boolean {
  const s = stateOf(c);
  return s === "running" || s === "paused" || s === "restarting";
}

export function liveContainers(store: Store): LiveContainer[] {
  return listContainers(store).map((spec) => liveContainer(store, spec));
}

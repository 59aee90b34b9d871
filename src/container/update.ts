// Changing a running container's limits (box update, box oci update): the cgroup writes, then
// the config, so later runs and inspect see the limits in force.
import { applyLimits } from "../cgroup/limits.ts";
import { cgroupsFor, type LiveContainer } from "./live.ts";
import { writeConfig } from "./store.ts";
import type { ResourceSpec } from "./spec.ts";

/** Whether `changes` says anything (a list with entries, or a value). */
export function changesSomething(changes: ResourceSpec): boolean {
  return Object.values(changes).some((v) => (Array.isArray(v) ? v.length > 0 : v !== undefined));
}

type PairedLimit = "cpuQuota" | "cpuPeriod" | "memory" | "memorySwap";

/**
 * Limits the kernel takes as a pair (v2's cpu.max is quota and period in one write; Docker's
 * swap is counted with the memory): one changed alone keeps the other's value in force.
 */
const PAIRS: [PairedLimit, PairedLimit][] = [
  ["cpuQuota", "cpuPeriod"],
  ["memory", "memorySwap"],
];

export function updateLimits(c: LiveContainer, changes: ResourceSpec, command: string): void {
  const current = c.spec.resources ?? {};
  const writes: ResourceSpec = { ...changes };
  // No memory limit any more: no swap limit either (runc's update --memory -1).
  if (writes.memory === -1 && writes.memorySwap === undefined) writes.memorySwap = -1;
  for (const [a, b] of PAIRS) {
    if (writes[a] !== undefined) writes[b] ??= current[b];
    else if (writes[b] !== undefined) writes[a] = current[a];
  }
  applyLimits(writes, cgroupsFor(c, command));
  const merged: ResourceSpec = { ...c.spec.resources };
  for (const [k, v] of Object.entries(changes) as [keyof ResourceSpec, never][]) {
    if (Array.isArray(v) ? (v as unknown[]).length : v !== undefined) merged[k] = v;
  }
  writeConfig(c.paths, { ...c.spec, resources: merged });
}

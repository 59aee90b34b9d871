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

export function updateLimits(c: LiveContainer, changes: ResourceSpec, command: string): void {
  applyLimits(changes, cgroupsFor(c, command));
  const merged: ResourceSpec = { ...c.spec.resources };
  for (const [k, v] of Object.entries(changes) as [keyof ResourceSpec, never][]) {
    if (Array.isArray(v) ? (v as unknown[]).length : v !== undefined) merged[k] = v;
  }
  writeConfig(c.paths, { ...c.spec, resources: merged });
}

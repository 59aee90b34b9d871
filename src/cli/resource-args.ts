// The resource flags of `box run`, shared with `box update`. Kept apart from their parser so
// that the run path loads them before the init is started, and the parser after.
import type { ArgsDef } from "citty";

export const RESOURCE_ARGS = {
  memory: { type: "string", alias: "m", description: "Memory limit (b, k, m, g)", valueHint: "BYTES" },
  "memory-swap": { type: "string", description: "Memory plus swap limit; -1 for unlimited swap", valueHint: "BYTES" },
  "memory-reservation": { type: "string", description: "Soft memory limit", valueHint: "BYTES" },
  "oom-kill-disable": { type: "boolean", description: "Do not OOM-kill the container (cgroup v1)" },
  cpus: { type: "string", description: "Number of CPUs, e.g. 0.5", valueHint: "N" },
  "cpu-period": { type: "string", description: "CFS period in µs", valueHint: "US" },
  "cpu-quota": { type: "string", description: "CFS quota in µs per period", valueHint: "US" },
  "cpu-shares": { type: "string", alias: "c", description: "Relative CPU weight (2..262144, default 1024)", valueHint: "N" },
  "cpuset-cpus": { type: "string", description: "CPUs allowed, e.g. 0-1,3", valueHint: "LIST" },
  "cpuset-mems": { type: "string", description: "Memory nodes allowed", valueHint: "LIST" },
  "cpu-rt-period": { type: "string", description: "Realtime scheduling period in µs (cgroup v1)", valueHint: "US" },
  "cpu-rt-runtime": { type: "string", description: "Realtime scheduling runtime in µs per period (cgroup v1)", valueHint: "US" },
  "pids-limit": { type: "string", description: "Maximum number of processes (-1: unlimited)", valueHint: "N" },
  "blkio-weight": { type: "string", description: "Relative block I/O weight (10..1000)", valueHint: "N" },
  "device-read-bps": { type: "string", description: "Read rate limit of a device", valueHint: "PATH:RATE" },
  "device-write-bps": { type: "string", description: "Write rate limit of a device", valueHint: "PATH:RATE" },
  "device-read-iops": { type: "string", description: "Read operations per second of a device", valueHint: "PATH:N" },
  "device-write-iops": { type: "string", description: "Write operations per second of a device", valueHint: "PATH:N" },
} satisfies ArgsDef;

/** The ones that may repeat. */
export const RESOURCE_LISTS = ["device-read-bps", "device-write-bps", "device-read-iops", "device-write-iops"];

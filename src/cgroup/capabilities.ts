// What this host's cgroups let box do, for `box info` and for refusing flags up front.
import { exists } from "../sys/fs.ts";
import { join } from "../path.ts";
import { detectCgroups, type CgroupLayout } from "./detect.ts";
import { deviceRulesEnforced } from "./devices.ts";

export interface FlagSupport {
  flags: string;
  supported: boolean;
  /** the controller or file it rests on, or why it is missing */
  detail: string;
}

function hierarchyOf(layout: CgroupLayout, controller: string): string | undefined {
  return layout.hierarchies.find((h) => h.controllers.includes(controller))?.mountpoint;
}

function deviceAllowList(v1: boolean): string {
  if (deviceRulesEnforced()) return v1 ? "v1 devices controller" : "a BPF device program on each container's cgroup";
  return v1 ? "no v1 devices controller: containers get no CAP_MKNOD" : "no BPF device program can be loaded here: containers get no CAP_MKNOD";
}

export function flagSupport(layout: CgroupLayout = detectCgroups()): FlagSupport[] {
  const v1 = layout.version === 1;
  const has = (c: string) => hierarchyOf(layout, c) !== undefined;
  const file = (c: string, f: string) => {
    const h = hierarchyOf(layout, c);
    return h !== undefined && exists(join(h, f));
  };
  const row = (flags: string, supported: boolean, detail: string): FlagSupport => ({ flags, supported, detail });
  const io = v1 ? "blkio" : "io";
  return [
    row("-m/--memory, --memory-reservation", has("memory"), "memory controller"),
    row("--memory-swap", v1 ? file("memory", "memory.memsw.limit_in_bytes") : has("memory"), v1 ? "memory.memsw.* (swap accounting)" : "memory.swap.max"),
    row("--oom-kill-disable", v1 && has("memory"), v1 ? "memory.oom_control" : "cgroup v2 has no such switch"),
    row("--cpus, --cpu-period, --cpu-quota, --cpu-shares", has("cpu"), v1 ? "cpu controller (CFS)" : "cpu.max, cpu.weight"),
    row("--cpuset-cpus, --cpuset-mems", has("cpuset"), "cpuset controller"),
    row("--pids-limit", has("pids"), "pids controller"),
    row("--blkio-weight", has(io), v1 ? "blkio.weight or blkio.bfq.weight in each container's cgroup (needs the CFQ or BFQ scheduler to act)" : "io.bfq.weight or io.weight"),
    row("--device-{read,write}-{bps,iops}", has(io), v1 ? "blkio.throttle.*" : "io.max"),
    row("device allow-list", deviceRulesEnforced(), deviceAllowList(v1)),
    row("pause, unpause", v1 ? has("freezer") : true, v1 ? "freezer controller" : "cgroup.freeze"),
  ];
}

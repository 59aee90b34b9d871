// What the kernel counted for a container's cgroup: OOM kills, read before the cgroup goes.
import { readFile } from "../sys/fs.ts";
import { join } from "../path.ts";
import { detectCgroups, type CgroupLayout } from "./detect.ts";

/** The container's cgroup dir of the hierarchy with `controller`, if there is one. */
export function controllerDir(dirs: string[], controller: string, layout: CgroupLayout = detectCgroups()): string | undefined {
  const index = layout.hierarchies.findIndex((h) => h.controllers.includes(controller));
  return index < 0 ? undefined : dirs[index];
}

/** How many processes the OOM killer took in the container (v1 memory.oom_control, v2 memory.events). */
export function oomKills(dirs: string[], layout: CgroupLayout = detectCgroups()): number {
  const dir = controllerDir(dirs, "memory", layout);
  if (!dir) return 0;
  try {
    const text = readFile(join(dir, layout.version === 1 ? "memory.oom_control" : "memory.events"));
    return Number(/^oom_kill (\d+)$/m.exec(text)?.[1] ?? 0);
  } catch {
    return 0;
  }
}

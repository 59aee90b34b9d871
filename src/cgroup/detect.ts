// Finds out at run time which cgroup hierarchy this host has: v2 (cgroup2 at /sys/fs/cgroup),
// v1, or hybrid (v1 controllers plus a cgroup2 mount, usually /sys/fs/cgroup/unified).
import { readFile, statfsType } from "../sys/fs.ts";

const CGROUP2_SUPER_MAGIC = 0x63677270;

export interface Hierarchy {
  mountpoint: string;
  /** Controllers bound to it (v1), or those the v2 root offers. */
  controllers: string[];
  /**
   * Hybrid: systemd's cgroup2 mount beside the v1 hierarchies, with no controller. A container's
   * processes join a cgroup of theirs there too (as runc's), so that what walks the v2 tree
   * (systemd-cgls, programs attached to cgroups) finds them; nothing is limited there.
   */
  unified?: boolean;
  /** A named v1 hierarchy's name (systemd), which has no controller. */
  name?: string;
}

export interface CgroupLayout {
  version: 1 | 2;
  /** v1 with a cgroup2 mount beside it. */
  hybrid: boolean;
  /** v1: one per controller hierarchy; v2: exactly one. */
  hierarchies: Hierarchy[];
}

let cached: CgroupLayout | undefined;

export function detectCgroups(mountRoot = "/sys/fs/cgroup"): CgroupLayout {
  if (cached) return cached;
  if (statfsType(mountRoot) === CGROUP2_SUPER_MAGIC) {
    const controllers = readFile(`${mountRoot}/cgroup.controllers`).trim().split(/\s+/).filter(Boolean);
    cached = { version: 2, hybrid: false, hierarchies: [{ mountpoint: mountRoot, controllers }] };
    return cached;
  }
  const hierarchies: Hierarchy[] = [];
  let hybrid = false;
  for (const line of readFile("/proc/self/mountinfo").split("\n")) {
    // mountinfo: id parent dev root mountpoint options [optional...] - fstype source superoptions
    const [pre, post] = line.split(" - ");
    if (!pre || !post) continue;
    const [fstype, , superOptions = ""] = post.split(" ");
    const mountpoint = pre.split(" ")[4] ?? "";
    if (fstype === "cgroup2") {
      hybrid = true;
      if (mountpoint === `${mountRoot}/unified` && !hierarchies.some((h) => h.unified)) hierarchies.push({ mountpoint, controllers: [], unified: true });
    }
    if (fstype !== "cgroup") continue;
    const options = superOptions.split(",");
    const controllers = options.filter((o) => !["rw", "ro"].includes(o) && !o.includes("="));
    // A named one (name=systemd) has no controller: nothing is limited there, but the container's
    // processes are placed in it as in the others (runc's, Docker's), which systemd in a container needs.
    const name = options.find((o) => o.startsWith("name="))?.slice("name=".length);
    if (controllers.length > 0) hierarchies.push({ mountpoint, controllers });
    else if (name && !hierarchies.some((h) => h.name === name)) hierarchies.push({ mountpoint, controllers: [], name });
  }
  cached = { version: 1, hybrid, hierarchies };
  return cached;
}

// Which device nodes a container may use: Docker's default allow-list. Without it, root in a
// container with CAP_MKNOD could create and open any host device (disks, /dev/kvm, ...).
import { writeFile } from "../sys/fs.ts";
import { join } from "../path.ts";
import { detectCgroups } from "./detect.ts";

const DEFAULT_DEVICE_RULES = [
  "c *:* m", // mknod of any node is allowed, using it is not
  "b *:* m",
  "c 1:3 rwm", // null
  "c 1:5 rwm", // zero
  "c 1:7 rwm", // full
  "c 1:8 rwm", // random
  "c 1:9 rwm", // urandom
  "c 5:0 rwm", // tty
  "c 5:1 rwm", // console
  "c 5:2 rwm", // ptmx
  "c 136:* rwm", // pts
  "c 10:200 rwm", // net/tun
];

/**
 * True where box can enforce the allow-list: the v1 devices controller. cgroup v2 needs a BPF
 * device program, which box does not load yet; there the payload gets no CAP_MKNOD instead.
 */
export function deviceRulesEnforced(): boolean {
  const layout = detectCgroups();
  return layout.version === 1 && layout.hierarchies.some((h) => h.controllers.includes("devices"));
}

/** Docker's: deny everything, then allow its list and `extra` (--device: `c 10:200 rwm`). */
export function dockerDeviceRules(extra: string[]): string[] {
  return ["deny a", ...defaultDeviceAllows(extra)];
}

/**
 * The nodes box makes in every container's /dev, usable whatever else is denied (as runc adds
 * them to a bundle's rules), and `extra`.
 */
export function defaultDeviceAllows(extra: string[]): string[] {
  return [...DEFAULT_DEVICE_RULES, ...extra].map((r) => `allow ${r}`);
}

/** v1: writes `allow RULE` / `deny RULE` entries, in order, into a new container's devices cgroup. */
export function applyDeviceRules(dir: string, rules: string[]): void {
  for (const entry of rules) {
    const space = entry.indexOf(" ");
    writeFile(join(dir, entry.slice(0, space) === "allow" ? "devices.allow" : "devices.deny"), entry.slice(space + 1));
  }
}

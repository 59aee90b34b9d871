// Debian's podman (4.3) as the benchmarks run it, in a directory of their own. It runs here only
// with runc (its crun refuses this hybrid cgroup host), cgroupfs, file events, and ulimits within
// the hard limits of this machine.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export interface Podman {
  available: boolean;
  dir: string;
  env: Record<string, string>;
  /** podman's argv for these arguments. */
  command(...args: string[]): string[];
}

export function podmanIn(dir: string, env: Record<string, string>): Podman {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "containers.conf"), '[containers]\ndefault_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]\n');
  return {
    available: Bun.which("podman") !== null,
    dir,
    env: { ...env, CONTAINERS_CONF: join(dir, "containers.conf") },
    command: (...args) => [
      "podman", "--root", join(dir, "root"), "--runroot", join(dir, "run"), "--tmpdir", join(dir, "tmp"),
      "--cgroup-manager", "cgroupfs", "--events-backend", "file", "--runtime", "runc", ...args,
    ],
  };
}

/** What is mounted below `dir`, deepest first. */
function mountsBelow(dir: string): string[] {
  return readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .map((l) => l.split(" ")[4] ?? "")
    .filter((m) => m.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length);
}

/**
 * Unmounts whatever is mounted below `dir`, deepest first, until nothing is: podman's cleanup
 * processes (conmon's exit command) may still hold or make a mount for a moment after its
 * command returned, so a single pass can leave one behind (seen after the health benchmark).
 */
export function unmountBelow(dir: string): void {
  for (let pass = 0; pass < 50; pass++) {
    const mounts = mountsBelow(dir);
    if (!mounts.length) return;
    for (const m of mounts) Bun.spawnSync(["umount", m]);
    if (mountsBelow(dir).length) Bun.sleepSync(200);
  }
  throw new Error(`still mounted below ${dir}: ${mountsBelow(dir).join(", ")}`);
}

// podman keeps its storage's overlay directory mounted (a private bind onto itself) after its
// containers are gone; the benchmark's temporary directory can only go once that is unmounted.
export const unmountPodmanStorage = unmountBelow;

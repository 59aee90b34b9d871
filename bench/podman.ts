// podman keeps its storage's overlay directory mounted (a private bind onto itself) after its
// containers are gone; the benchmark's temporary directory can only go once that is unmounted.
import { readFileSync } from "node:fs";

export function unmountPodmanStorage(dir: string): void {
  const mounts = readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .map((l) => l.split(" ")[4] ?? "")
    .filter((m) => m.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length);
  for (const m of mounts) Bun.spawnSync(["umount", m]);
}

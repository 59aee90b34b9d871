// `box system boot` of 50 stopped `--restart always` containers next to `podman start --all` of
// 50 stopped podman containers (Debian's podman, runc), on one busybox rootfs. Into BENCHMARKS.md
// ("Starting containers at boot").
//
//   bun run build && bun bench/boot.ts        (alone: rewrites only its own section)
//
// Environment: BOOT_CONTAINERS (default 50), BOOT_RUNS (timed boots each, default 3).
import { join } from "node:path";
import { BOX, OUT, runAlone } from "./sections.ts";
import { median, table } from "./timer.ts";
import { podmanIn, unmountBelow } from "./podman.ts";

const N = Math.max(2, Number(process.env.BOOT_CONTAINERS ?? 50));
const RUNS = Math.max(1, Number(process.env.BOOT_RUNS ?? 3));

export interface BootResult {
  box: number[];
  podman?: number[];
}

function run(argv: string[], env?: Record<string, string>): void {
  const r = Bun.spawnSync(argv, { env, stdout: "ignore", stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`${argv.join(" ")}: ${r.stderr.toString()}`);
}

/** ms of one command. */
function time(argv: string[], env?: Record<string, string>): number {
  const t0 = performance.now();
  run(argv, env);
  return performance.now() - t0;
}

export function bootBench(o: { box: string; tmp: string; rootfs: string }): BootResult {
  const box = (...args: string[]) => [o.box, "--root", join(o.tmp, "root"), "--runroot", join(o.tmp, "run"), ...args];
  const names = Array.from({ length: N }, (_, i) => `boot-${i}`);
  // Run once, then stopped: `system boot` starts containers that ran (a container only created never does).
  for (const name of names) run(box("run", "-d", "--name", name, "--network", "none", "--restart", "always", "--rootfs", o.rootfs, "sleep", "100000"));
  run(box("stop", "-t", "0", ...names));
  const boxTimes: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    boxTimes.push(time(box("system", "boot")));
    run(box("stop", "-t", "0", ...names));
  }
  run(box("rm", "-f", ...names));
  const p = podmanIn(join(o.tmp, "podman"), process.env as Record<string, string>);
  if (!p.available) return { box: boxTimes };
  const podmanTimes: number[] = [];
  try {
    for (const name of names) run(p.command("create", "--name", name, "--network", "none", "--restart", "always", "--rootfs", o.rootfs, "sleep", "100000"), p.env);
    for (let i = 0; i < RUNS; i++) {
      podmanTimes.push(time(p.command("start", "--all"), p.env));
      run(p.command("stop", "-t", "0", "--all"), p.env);
    }
    run(p.command("rm", "-f", "--all"), p.env);
  } finally {
    unmountBelow(p.dir);
  }
  return { box: boxTimes, podman: podmanTimes };
}

export function bootSection(r: BootResult): string {
  const row = (name: string, ms: number[]) => [name, (median(ms) / 1000).toFixed(2), (median(ms) / N).toFixed(1)];
  return `## Starting containers at boot (bench/boot.ts)

${N} stopped containers with \`--restart always\` (\`--network none\`, \`sleep\` as payload), started by
one command, ${RUNS} times each (median):

${table(["", "all (s)", "per container (ms)"], [row("box system boot", r.box), ...(r.podman ? [row("podman start --all", r.podman)] : [])], ["l", "r", "r"])}
`;
}

if (import.meta.main) await runAlone(OUT, "## Starting containers at boot", async (o) => bootSection(bootBench({ box: BOX, ...o })));

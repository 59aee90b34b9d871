// What a health check costs: the memory held per idle detached container with one (its Bun init
// stays, to run the probes) next to one without (the native watcher), and the CPU each probe
// takes. Into BENCHMARKS.md ("Health checks").
//
//   bun run build && bun bench/health.ts        (alone: rewrites only its own section)
//
// Environment: HEALTH_CONTAINERS (idle containers of each kind, default 10), HEALTH_PROBES (probes
// timed, default 50).
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { runAlone } from "./sections.ts";
import { table } from "./timer.ts";
import { pss } from "./lifecycle.ts";

const REPO = resolve(import.meta.dir, "..");
const BOX = join(REPO, "dist/box");
const OUT = join(REPO, "BENCHMARKS.md");
const CONTAINERS = Math.max(2, Number(process.env.HEALTH_CONTAINERS ?? 10));
const PROBES = Math.max(10, Number(process.env.HEALTH_PROBES ?? 50));
const TICKS = 100; // USER_HZ

export interface HealthBenchResult {
  plainKiB: number;
  checkedKiB: number;
  /** CPU (user + system) per probe: the init's share and the probe's own (reaped by the init). */
  probeCpuMs: number;
  probes: number;
}

/** utime + stime + cutime + cstime of a process, in ms. */
function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return ((Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14])) * 1000) / TICKS;
}

export function healthBench(o: { box: string; tmp: string; rootfs: string }): HealthBenchResult {
  const store = ["--root", join(o.tmp, "root"), "--runroot", join(o.tmp, "run")];
  const box = (...args: string[]) => {
    const r = Bun.spawnSync([o.box, ...store, ...args], { stderr: "pipe" });
    if (r.exitCode !== 0) throw new Error(`box ${args.join(" ")}: ${r.stderr.toString()}`);
    return r.stdout.toString().trim();
  };
  const initOf = (id: string): number => JSON.parse(readFileSync(join(o.tmp, "run", "containers", id, "state.json"), "utf8")).pid;
  const idle = (flags: string[]) => {
    const ids = Array.from({ length: CONTAINERS }, () => box("run", "-d", "--network", "none", ...flags, "--rootfs", o.rootfs, "sleep", "100000"));
    Bun.sleepSync(2000);
    const kib = ids.reduce((sum, id) => sum + pss(initOf(id)), 0) / CONTAINERS;
    box("rm", "-f", ...ids);
    return kib;
  };
  const plainKiB = idle([]);
  const checkedKiB = idle(["--health-cmd", "true", "--health-interval", "30s"]);
  // Probes as fast as they come: the init's CPU over PROBES of them (its children's included).
  const id = box("run", "-d", "--network", "none", "--health-cmd", "true", "--health-interval", "100ms", "--rootfs", o.rootfs, "sleep", "100000");
  const init = initOf(id);
  const before = cpuMs(init);
  Bun.sleepSync(PROBES * 100 + 100);
  const after = cpuMs(init);
  box("rm", "-f", id);
  return { plainKiB, checkedKiB, probeCpuMs: (after - before) / PROBES, probes: PROBES };
}

export function healthSection(r: HealthBenchResult): string {
  return `## Health checks (bench/health.ts)

Memory held per idle detached container (PSS of its init, ${CONTAINERS} of each, \`sleep\` as payload), and
the CPU a probe costs (\`--health-cmd true\` every 100 ms for ${(r.probes / 10).toFixed(0)} s: the init's own time
and the probes', which it reaps).

${table(["", "per container"], [
  ["idle, no health check (native watcher)", `${(r.plainKiB / 1024).toFixed(2)} MiB`],
  ["idle, with a health check (Bun init)", `${(r.checkedKiB / 1024).toFixed(2)} MiB`],
  ["CPU per probe", `${r.probeCpuMs.toFixed(1)} ms`],
])}

- A container with a health check keeps its Bun init to run the probes: over the 3 MB target
  for an idle container. docs/ARCHITECTURE.md ("Health checks") says why, and what would bring
  it under (the probes run by the native watcher).
`;
}

if (import.meta.main) await runAlone(OUT, "## Health checks", async (o) => healthSection(healthBench({ box: BOX, ...o })));

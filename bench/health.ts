// What a health check costs: the memory held per idle detached container with one (its native
// watcher, and the host's health timer that runs `box healthcheck run` on schedule) next to one
// without, and the CPU each probe takes, next to Podman's (conmon per container; `podman
// healthcheck run`, what its timer unit runs). Into BENCHMARKS.md ("Health checks").
//
//   bun run build && bun bench/health.ts        (alone: rewrites only its own section)
//
// Environment: HEALTH_CONTAINERS (idle containers of each kind, default 10), HEALTH_PROBES (probes
// timed, default 30).
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { BOX, OUT, runAlone } from "./sections.ts";
import { table } from "./timer.ts";
import { pss } from "./lifecycle.ts";
import { podmanIn, unmountBelow } from "./podman.ts";

const CONTAINERS = Math.max(2, Number(process.env.HEALTH_CONTAINERS ?? 10));
const PROBES = Math.max(10, Number(process.env.HEALTH_PROBES ?? 30));

export interface HealthBenchResult {
  plainKiB: number;
  checkedKiB: number;
  /** CPU (user + system) of one `box healthcheck run`, the probe's included. */
  probeCpuMs: number;
  probes: number;
  podman?: { conmonKiB: number; probeCpuMs: number };
}

/** The health timers of the store's containers (src/sys/health-timer.c), by container id. */
function healthTimers(): Map<string, number> {
  const timers = new Map<string, number>();
  for (const p of readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
    try {
      const argv = readFileSync(`/proc/${p}/cmdline`, "utf8").split("\0");
      if (argv[0] === "box-health-timer") timers.set(argv.at(-2) ?? "", Number(p));
    } catch {}
  }
  return timers;
}

/** CPU (user + system, in ms) of running `argv` `n` times, one after the other. */
function cpuOfRuns(argv: string[], n: number, env?: Record<string, string>): number {
  let us = 0;
  for (let i = 0; i < n; i++) {
    const r = Bun.spawnSync(argv, { env, stdout: "ignore", stderr: "pipe" });
    if (r.exitCode !== 0) throw new Error(`${argv.join(" ")}: ${r.stderr.toString()}`);
    us += Number(r.resourceUsage.cpuTime.user + r.resourceUsage.cpuTime.system);
  }
  return us / 1000 / n;
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
    const timers = healthTimers();
    const kib = ids.reduce((sum, id) => sum + pss(initOf(id)) + (timers.has(id) ? pss(timers.get(id)!) : 0), 0) / CONTAINERS;
    box("rm", "-f", ...ids);
    return kib;
  };
  const plainKiB = idle([]);
  const checkedKiB = idle(["--health-cmd", "true", "--health-interval", "30s"]);
  const id = box("run", "-d", "--network", "none", "--health-cmd", "true", "--health-interval", "1h", "--rootfs", o.rootfs, "sleep", "100000");
  const probeCpuMs = cpuOfRuns([o.box, ...store, "healthcheck", "run", id], PROBES);
  box("rm", "-f", id);
  return { plainKiB, checkedKiB, probeCpuMs, probes: PROBES, podman: podmanHealth(o) };
}

/** The same with Debian's podman: conmon's PSS per idle container, and `podman healthcheck run`. */
function podmanHealth(o: { tmp: string; rootfs: string }): HealthBenchResult["podman"] {
  const p = podmanIn(join(o.tmp, "podman"), process.env as Record<string, string>);
  if (!p.available) return undefined;
  const run = (...args: string[]) => {
    const r = Bun.spawnSync(p.command(...args), { env: p.env, stderr: "pipe" });
    if (r.exitCode !== 0) throw new Error(`podman ${args.join(" ")}: ${r.stderr.toString()}`);
    return r.stdout.toString().trim();
  };
  try {
    const ids = Array.from({ length: CONTAINERS }, () => run("run", "-d", "--network", "none", "--health-cmd", "true", "--health-interval", "1h", "--rootfs", o.rootfs, "sleep", "100000"));
    Bun.sleepSync(2000);
    const conmons = ids.map((id) => Number(run("inspect", "-f", "{{.State.ConmonPid}}", id)));
    const conmonKiB = conmons.reduce((sum, pid) => sum + pss(pid), 0) / CONTAINERS;
    const probeCpuMs = cpuOfRuns(p.command("healthcheck", "run", ids[0]!), PROBES, p.env);
    run("rm", "-f", "-t", "0", ...ids);
    return { conmonKiB, probeCpuMs };
  } finally {
    unmountBelow(p.dir);
  }
}

export function healthSection(r: HealthBenchResult): string {
  const mib = (kib: number) => `${(kib / 1024).toFixed(2)} MiB`;
  return `## Health checks (bench/health.ts)

Memory held per idle detached container (PSS, ${CONTAINERS} of each, \`sleep\` as payload): box's native
watcher, and with a health check also the host's health timer; podman's conmon. And the CPU one
probe costs (\`--health-cmd true\`, ${r.probes} probes one after the other): \`box healthcheck run\`, what the
timer runs, and \`podman healthcheck run\`, what Podman's timer unit runs; the probe's own included.

${table(["", "box", "podman (runc)"], [
  ["idle, no health check", mib(r.plainKiB), r.podman ? "—" : "n/a"],
  ["idle, with a health check", mib(r.checkedKiB), r.podman ? mib(r.podman.conmonKiB) : "n/a"],
  ["CPU per probe", `${r.probeCpuMs.toFixed(1)} ms`, r.podman ? `${r.podman.probeCpuMs.toFixed(1)} ms` : "n/a"],
], ["l", "r", "r"])}

- Between probes a container with a health check holds its watcher and a timer of a few pages:
  under the 3 MB target. Each probe starts box once (${r.probeCpuMs.toFixed(0)} ms of CPU; every 30 s, Docker's
  default interval, that is ${((r.probeCpuMs / 30000) * 100).toFixed(2)}% of a core). The Bun init that ran the probes before
  held ~8.5 MiB per container and spent ~6 ms per probe: docs/ARCHITECTURE.md ("Health checks")
  says why the trade is the right one for idle services.
`;
}

if (import.meta.main) await runAlone(OUT, "## Health checks", async (o) => healthSection(healthBench({ box: BOX, ...o })));

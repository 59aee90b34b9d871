// Soak and chaos: many containers, box processes SIGKILLed at random moments, then the user's own
// cleanup, then a count of everything the store or the host still holds of it. The longer form of
// test/crash-safety.test.ts; its counts go into BENCHMARKS.md ("Soak and chaos").
//
//   bun run build && bun bench/soak.ts        (alone: rewrites only its own section)
//
// Environment: SOAK_RUNS (sequential run --rm, default 300), SOAK_KILLS (run --rm on the bridge
// SIGKILLed 10-90 ms in, default 200), SOAK_DETACHED (run -d, then inits SIGKILLed or rm -f'd
// concurrently, default 100), SOAK_PARALLEL (rounds of 10 parallel runs, default 10).
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { subdirs } from "../test/helpers/dirs.ts";
import { BOX, OUT, runAlone } from "./sections.ts";

const count = (name: string, fallback: number) => Math.max(1, Number(process.env[name] ?? fallback));

export interface SoakResult {
  counts: Record<string, number>;
  failures: Record<string, number>;
  /** What was left after `rm -f $(ps -aq)` and `system prune -f`: each must be 0. */
  left: Record<string, number>;
  seconds: number;
}

export async function soakBench(o: { box: string; tmp: string; rootfs: string }): Promise<SoakResult> {
  const started = performance.now();
  const store = { root: join(o.tmp, "soak-root"), runroot: join(o.tmp, "soak-run") };
  const argv = (args: string[]) => [o.box, "--root", store.root, "--runroot", store.runroot, ...args];
  const quiet = { stdin: "ignore", stdout: "ignore", stderr: "ignore" } as const;
  const counts = { runs: count("SOAK_RUNS", 300), kills: count("SOAK_KILLS", 200), detached: count("SOAK_DETACHED", 100), parallel: count("SOAK_PARALLEL", 10) * 10 };
  const failures = { runs: 0, parallel: 0 };
  let seed = 1 + (Date.now() % 100000);
  const rnd = (below: number) => ((seed = (seed * 48271) % 2147483647) % below);
  const rulesBefore = nftComments();
  const cgroupsBefore = new Set(boxCgroups());

  for (let i = 0; i < counts.runs; i++) {
    if (Bun.spawnSync(argv(["run", "--rm", "--network", "none", "--rootfs", o.rootfs, "/bin/true"]), quiet).exitCode !== 0) failures.runs++;
  }
  for (let i = 0; i < counts.kills; i++) {
    const p = Bun.spawn(argv(["run", "--rm", "-p", `${30000 + (i % 500)}:80`, "--rootfs", o.rootfs, "/bin/sleep", "5"]), quiet);
    await Bun.sleep(10 + rnd(80));
    p.kill("SIGKILL");
    await p.exited;
  }
  const ids: string[] = [];
  for (let i = 0; i < counts.detached; i++) {
    const r = Bun.spawnSync(argv(["run", "-d", "--rootfs", o.rootfs, "/bin/sleep", "60"]), { stdin: "ignore", stdout: "pipe", stderr: "ignore" });
    if (r.exitCode === 0) ids.push(r.stdout.toString().trim());
  }
  // Half the inits SIGKILLed, half removed with rm -f, at once.
  await Promise.all(
    ids.map(async (id, i) => {
      if (i % 2) {
        try {
          const state = JSON.parse(readFileSync(join(store.runroot, "containers", id, "state.json"), "utf8"));
          process.kill(state.pid, "SIGKILL");
        } catch {}
      } else {
        await Bun.spawn(argv(["rm", "-f", id]), quiet).exited;
      }
    }),
  );
  for (let round = 0; round < counts.parallel / 10; round++) {
    const codes = await Promise.all(Array.from({ length: 10 }, () => Bun.spawn(argv(["run", "--rm", "--rootfs", o.rootfs, "/bin/true"]), quiet).exited));
    failures.parallel += codes.filter((c) => c !== 0).length;
  }

  // The user's own cleanup.
  const all = Bun.spawnSync(argv(["ps", "-aq", "--no-trunc"]), { stdin: "ignore", stdout: "pipe", stderr: "ignore" }).stdout.toString().split("\n").filter(Boolean);
  if (all.length) Bun.spawnSync(argv(["rm", "-f", ...all]), quiet);
  Bun.spawnSync(argv(["system", "prune", "-f"]), quiet);
  await Bun.sleep(500);

  const list = (dir: string) => (existsSync(dir) ? readdirSync(dir) : []);
  const nets = join(store.root, "networks");
  const left = {
    "container dirs": list(join(store.root, "containers")).length,
    "run dirs": list(join(store.runroot, "containers")).length,
    names: list(join(store.root, "names")).length,
    "leases and port claims": list(nets).flatMap((n) => (n === "ports" ? list(join(nets, n)) : list(join(nets, n, "leases")))).length,
    networks: list(nets).filter((n) => existsSync(join(nets, n, "config.json"))).length,
    // Another box of this machine may make some meanwhile: a soak on a quiet host counts only its own.
    "cgroups under box/": boxCgroups().filter((d) => !cgroupsBefore.has(d)).length,
    "nftables rules": nftComments().filter((c) => !rulesBefore.includes(c)).length,
    processes: storeProcesses(store.root).length,
    mounts: readFileSync("/proc/self/mountinfo", "utf8").split("\n").filter((l) => l.includes(o.tmp)).length,
  };
  return { counts, failures, left, seconds: (performance.now() - started) / 1000 };
}

function boxCgroups(): string[] {
  const parents = [...readdirSync("/sys/fs/cgroup").map((h) => join("/sys/fs/cgroup", h, "box")), "/sys/fs/cgroup/box"];
  return parents.flatMap((p) => subdirs(p, 1));
}

function nftComments(): string[] {
  const out = Bun.spawnSync(["nft", "list", "table", "ip", "box"], { stderr: "ignore" }).stdout.toString();
  return [...out.matchAll(/comment "([^"]*)"/g)].map((m) => m[1]!);
}

function storeProcesses(root: string): number[] {
  return readdirSync("/proc")
    .filter((p) => /^\d+$/.test(p) && Number(p) !== process.pid)
    .filter((p) => {
      try {
        return readFileSync(`/proc/${p}/environ`, "utf8").includes(root);
      } catch {
        return false;
      }
    })
    .map(Number);
}

export function soakSection(r: SoakResult): string {
  const rows = Object.entries(r.left).map(([what, n]) => `| ${what} | ${n} |`);
  return `## Soak and chaos (bench/soak.ts)

One store, one after the other: ${r.counts.runs} \`run --rm --network none\` (${r.failures.runs} failed); ${r.counts.kills}
\`run --rm -p PORT:80\` on the bridge, each SIGKILLed 10–90 ms after it started; ${r.counts.detached} \`run -d\`,
then half their inits SIGKILLed and half \`rm -f\`'d, all at once; ${r.counts.parallel} \`run --rm\` in rounds of 10 at
once (${r.failures.parallel} failed). Then the user's own cleanup, \`box rm -f $(box ps -aq)\` and \`box system prune -f\`,
and what was still there (every row must be 0). ${r.seconds.toFixed(0)} s in all.

| left after the cleanup | count |
| --- | --- |
${rows.join("\n")}
`;
}

/** Alone: runs the soak and replaces its section of BENCHMARKS.md (or adds it before the notes). */
if (import.meta.main) await runAlone(OUT, "## Soak and chaos", async (o) => soakSection(await soakBench({ box: BOX, ...o })));

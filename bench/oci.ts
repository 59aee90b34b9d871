// box as an OCI runtime: `box oci run` of a bundle next to `crun run` and `runc run` of the same
// bundle (runc spec's, with the busybox rootfs, Docker's seccomp profile, /bin/true);
// `ctr run --runc-binary box|runc` on a private containerd (test/helpers/containerd.ts); and
// `docker run --runtime box` next to `--runtime runc` on a private dockerd (test/helpers/dockerd.ts).
// Called by bench/run.ts, or alone: `bun bench/oci.ts` rewrites its section of BENCHMARKS.md.
import { cpSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { startContainerd } from "../test/helpers/containerd.ts";
import { startDockerd } from "../test/helpers/dockerd.ts";
import { benchEnv, hidingUnified, ms, stats, table, timed } from "./timer.ts";
import { writeBundle } from "./bundle.ts";
import { BOX, OUT, runAlone } from "./sections.ts";
import type { LifecycleContext } from "./lifecycle.ts";

/** What the lifecycle part gets, this part gets too. */
export type OciContext = LifecycleContext;

type BundleRuntime = "box oci" | "crun" | "runc";
type DockerRuntime = "docker --runtime box" | "docker --runtime runc";
type CtrRuntime = "ctr run --runc-binary box" | "ctr run --runc-binary runc";
type VerbRuntime = "box oci" | "runc";
const SHIM_CALLS = ["create", "start", "delete", "delete --force (gone)"] as const;
type ShimCall = (typeof SHIM_CALLS)[number];

export interface OciResult {
  bundle: Record<BundleRuntime, number[]>;
  /**
   * What one invocation costs before any work: `box oci --version`, `runc --version`, and any Bun
   * executable's start (a compiled program that prints one line), box's share of which is Bun's.
   */
  floor: Record<"box oci --version" | "runc --version" | "Bun hello world", number[]>;
  /** Each call containerd's shim makes for one container, timed alone (box oci and runc). */
  verbs: Record<VerbRuntime, Record<ShimCall, number[]>>;
  ctr?: Record<CtrRuntime, number[]>;
  docker?: Record<DockerRuntime, number[]>;
  notes: string[];
}

const WARMUP = 3;

export async function ociBench(c: OciContext): Promise<OciResult> {
  const bundle = join(c.tmp, "oci-bundle-true");
  c.writeBundle(bundle, ["/bin/true"]);
  const states: Record<BundleRuntime, string> = { "box oci": join(c.tmp, "oci-box-state"), crun: join(c.tmp, "oci-crun-state"), runc: join(c.tmp, "oci-runc-state") };
  for (const d of Object.values(states)) mkdirSync(d, { recursive: true });
  const notes: string[] = [];
  let seq = 0;
  const argv = (rt: BundleRuntime): string[] => {
    const id = `boxbench-${process.pid}-oci-${++seq}`;
    if (rt === "box oci") return [c.box, "oci", "--root", states[rt], "run", "--bundle", bundle, id];
    return [rt, "--root", states[rt], "run", "--bundle", bundle, id];
  };
  const runtime = (rt: VerbRuntime) => [...(rt === "box oci" ? [c.box, "oci"] : ["runc"]), "--root", states[rt]];
  const stopped = (rt: VerbRuntime, id: string): boolean => {
    const r = Bun.spawnSync([...runtime(rt), "state", id], { env: c.env, stdout: "pipe", stderr: "ignore" });
    return r.exitCode === 0 && (JSON.parse(r.stdout.toString()) as { status: string }).status === "stopped";
  };
  const wrap = (rt: BundleRuntime) => (rt === "crun" && c.crunWrapped ? (script: string, args: string[]) => hidingUnified(c.unified, "bash", script, args) : undefined);
  const verbTimes = () => Object.fromEntries(SHIM_CALLS.map((v) => [v, [] as number[]])) as Record<ShimCall, number[]>;
  const result: OciResult = { bundle: { "box oci": [], crun: [], runc: [] }, floor: { "box oci --version": [], "runc --version": [], "Bun hello world": [] }, verbs: { "box oci": verbTimes(), runc: verbTimes() }, notes };
  const hello = join(c.tmp, "bun-hello");
  writeFileSync(`${hello}.ts`, 'console.log("hello");\n');
  const built = Bun.spawnSync(["bun", "build", "--compile", "--bytecode", "--format=esm", `${hello}.ts`, "--outfile", hello], { stdout: "ignore", stderr: "pipe" });
  if (built.exitCode !== 0) throw new Error(`bun build --compile of a hello world: ${built.stderr.toString()}`);
  for (let i = 0; i < WARMUP + c.runs; i++) {
    for (const rt of ["box oci", "crun", "runc"] as const) {
      const t = timed(argv(rt), c.env, wrap(rt));
      if (i >= WARMUP) result.bundle[rt].push(t);
    }
    for (const [name, cmd] of [["box oci --version", [c.box, "oci", "--version"]], ["runc --version", ["runc", "--version"]], ["Bun hello world", [hello]]] as const) {
      const t = timed([...cmd], c.env);
      if (i >= WARMUP) result.floor[name].push(t);
    }
    await Bun.sleep(0);
  }

  // The shim's calls one by one (what ctr run below is made of): create, start, delete once the
  // process has exited, and the shim's cleanup, a delete --force of the container already gone.
  for (let i = 0; i < WARMUP + c.runs; i++) {
    for (const rt of ["box oci", "runc"] as const) {
      const id = `boxbench-${process.pid}-verbs-${++seq}`;
      const call = (...args: string[]) => timed([...runtime(rt), ...args], c.env);
      const t = { create: call("create", "--bundle", bundle, id) } as Record<ShimCall, number>;
      try {
        t.start = call("start", id);
        for (const end = Date.now() + 5000; !stopped(rt, id); await Bun.sleep(5)) if (Date.now() > end) throw new Error(`${rt} ${id}: /bin/true still runs after 5 s`);
        t.delete = call("delete", id);
      } catch (e) {
        // Its process may wait for start, or run: nothing of the failed run's may stay.
        Bun.spawnSync([...runtime(rt), "delete", "--force", id], { env: c.env, stdout: "ignore", stderr: "ignore" });
        throw e;
      }
      t["delete --force (gone)"] = call("delete", "--force", id);
      if (i >= WARMUP) for (const v of SHIM_CALLS) result.verbs[rt][v].push(t[v]);
    }
  }

  // ctr: a private containerd and its runc shim, each run a new container on a rootfs of its own
  // runtime's (ctr --rootfs uses the directory as it is), removed after (--rm).
  try {
    const ctd = await startContainerd([c.box]);
    try {
      result.ctr = { "ctr run --runc-binary box": [], "ctr run --runc-binary runc": [] };
      const binaries = { box: ctd.runc, runc: "runc" };
      for (const runtime of ["box", "runc"] as const) cpSync(c.rootfs, join(c.tmp, `ctr-rootfs-${runtime}`), { recursive: true, verbatimSymlinks: true });
      const runs = Math.min(c.runs, 30);
      for (let i = 0; i < WARMUP + runs; i++) {
        for (const runtime of ["box", "runc"] as const) {
          const t = timed(["ctr", "--address", ctd.socket, "run", "--rm", "--runc-binary", binaries[runtime], "--rootfs", join(c.tmp, `ctr-rootfs-${runtime}`), `boxbench-ctr-${runtime}-${i}`, "/bin/true"], c.env);
          if (i >= WARMUP) result.ctr[`ctr run --runc-binary ${runtime}`].push(t);
        }
      }
    } finally {
      await ctd.stop();
      rmSync(ctd.dir, { recursive: true, force: true });
    }
  } catch (e) {
    notes.push(`ctr part skipped: ${(e as Error).message}`);
  }

  // docker: a private dockerd, each run a new container of the imported busybox image.
  let docker;
  try {
    docker = await startDockerd([c.box]);
  } catch (e) {
    notes.push(`docker part skipped: ${(e as Error).message}`);
    return result;
  }
  try {
    const tar = join(c.tmp, "oci-busybox.tar");
    if (Bun.spawnSync(["tar", "-C", c.rootfs, "-cf", tar, "."]).exitCode !== 0) throw new Error("tar of the rootfs failed");
    const imported = await docker.run(["import", tar, "busybox:bench"]);
    if (imported.code !== 0) throw new Error(`docker import: ${imported.stderr}`);
    result.docker = { "docker --runtime box": [], "docker --runtime runc": [] };
    const runs = Math.min(c.runs, 20);
    for (let i = 0; i < WARMUP + runs; i++) {
      for (const runtime of ["box", "runc"] as const) {
        const t = timed([...docker.docker, "run", "--rm", "--runtime", runtime, "--network", "none", "busybox:bench", "/bin/true"], c.env);
        if (i >= WARMUP) result.docker[`docker --runtime ${runtime}`].push(t);
      }
    }
  } finally {
    await docker.stop();
  }
  return result;
}

function verbsTable(v: OciResult["verbs"]): string {
  const med = (x: number[]) => stats(x).median;
  const rows = SHIM_CALLS.map((call) => [call, ms(med(v["box oci"][call])), ms(med(v.runc[call])), ms(med(v["box oci"][call]) - med(v.runc[call]))]);
  const sum = (rt: VerbRuntime) => SHIM_CALLS.reduce((t, call) => t + med(v[rt][call]), 0);
  rows.push(["all four", ms(sum("box oci")), ms(sum("runc")), ms(sum("box oci") - sum("runc"))]);
  return table(["call", "box oci median ms", "runc median ms", "box − runc ms"], rows, ["l", "r", "r", "r"]);
}

export function ociSection(r: OciResult): string {
  const rows = (entries: [string, number[]][]) =>
    entries.map(([name, values]) => {
      const s = stats(values);
      return [name, String(values.length), ms(s.median), ms(s.p90), ms(s.min)];
    });
  const bundle = table(["runtime", "runs", "median ms", "p90 ms", "min ms"], rows(Object.entries(r.bundle)), ["l", "r", "r", "r", "r"]);
  const docker = r.docker
    ? table(["client", "runs", "median ms", "p90 ms", "min ms"], rows(Object.entries(r.docker)), ["l", "r", "r", "r", "r"])
    : "(not measured)";
  const ctr = r.ctr ? table(["client", "runs", "median ms", "p90 ms", "min ms"], rows(Object.entries(r.ctr)), ["l", "r", "r", "r", "r"]) : "(not measured)";
  const median = (v: number[] | undefined) => (v?.length ? stats(v).median : NaN);
  const verdict = (name: string, box: number, runc: number) => `- ${name}: box ${ms(box)} ms, runc ${ms(runc)} ms (median): target "box at or below runc" **${box <= runc ? "met" : "not met"}**.`;
  return `## box as an OCI runtime (bench/oci.ts)

One bundle (\`runc spec\`'s config with the busybox rootfs, Docker's default seccomp profile, no
terminal, \`/bin/true\`), run by each runtime's \`run\` verb, interleaved; each run creates,
starts, waits for and deletes its container.

${bundle}

${verdict("box oci run against runc run", median(r.bundle["box oci"]), median(r.bundle.runc))}
- What one invocation costs before any work, measured in the same run: \`box oci --version\` ${ms(median(r.floor["box oci --version"]))} ms,
  \`runc --version\` ${ms(median(r.floor["runc --version"]))} ms, and a compiled Bun program that prints one line
  ${ms(median(r.floor["Bun hello world"]))} ms (medians). \`box oci run\` starts Bun once: create builds the
  container in its own process, and the container's process is the spawn steps' program of a
  few KB from its first instruction (docs/OCI.md, "Speed"). Under containerd every runtime call
  (create, start, delete) starts Bun once, where runc starts a Go program: the difference per call
  is the difference between those two lines.

The calls containerd's shim makes for one container, each timed alone (same bundle, interleaved;
create returns with the process waiting, start once it has exec'd, delete after it has exited,
then the shim's cleanup: delete --force of the container already gone):

${verbsTable(r.verbs)}

containerd as the client, no daemon of Docker's: a private containerd 1.6 and its runc shim,
\`ctr run --rm --runc-binary box|runc --rootfs DIR ID /bin/true\`, interleaved (the shim's start,
the runtime's create, start and delete, the shim's exit).

${ctr}

${r.ctr ? verdict("ctr run with box against runc", median(r.ctr["ctr run --runc-binary box"]), median(r.ctr["ctr run --runc-binary runc"])) : ""}

The same runtimes behind a real client: a private dockerd 20.10 with its containerd (vfs storage,
\`--network none\`), \`docker run --rm --runtime box|runc busybox /bin/true\`, interleaved. This
is dominated by dockerd and containerd's shim; the runtime's share is the difference.

${docker}
${r.notes.length ? `\n${r.notes.map((n) => `- ${n}`).join("\n")}\n` : ""}`;
}

if (import.meta.main) {
  await runAlone(OUT, "## box as an OCI runtime", async (o) => {
    const env = benchEnv();
    const unified = "/sys/fs/cgroup/unified";
    // crun 1.8 refuses a hybrid host: then it runs with the cgroup2 mount hidden, as in bench/run.ts.
    const probe = join(o.tmp, "probe-bundle");
    writeBundle(probe, o.rootfs, env, ["/bin/true"]);
    const crunWrapped = Bun.spawnSync(["crun", "--root", join(o.tmp, "crun-probe"), "run", "--bundle", probe, "probe"], { env, stdout: "ignore", stderr: "ignore" }).exitCode !== 0;
    const runs = Math.max(20, Number(process.env.BENCH_RUNS ?? 50));
    return ociSection(await ociBench({ box: BOX, ...o, env, crunWrapped, unified, writeBundle: (dir, args) => writeBundle(dir, o.rootfs, env, args), runs }));
  });
}

// Benchmarks `box run` against crun and runc (and detached containers against crun, runc and
// podman: bench/lifecycle.ts) on one busybox rootfs and rewrites BENCHMARKS.md.
//
//   bun run build && bun bench/run.ts
//
// Environment: BENCH_RUNS (timed runs per runtime, default 100), BENCH_TRACE_RUNS (default 30),
// BENCH_MEM_RUNS (default 5), and bench/images.ts's BENCH_IMAGE_RUNS and BENCH_COLD_RUNS.
// Everything it creates lives in one temporary directory (box store, crun/runc state, bundles,
// rootfs) and is removed at the end, also on failure; but for the Debian layer of bench/images.ts,
// built once and kept in /var/cache/box-bench.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { cpus, release, tmpdir, totalmem } from "node:os";
import { basename, join } from "node:path";
import { busyboxRootfs } from "../test/helpers/rootfs.ts";
import { subdirs } from "../test/helpers/dirs.ts";
import { lifecycleBench, type LifecycleResult } from "./lifecycle.ts";
import { networkBench, type NetworkResult } from "./network.ts";
import { benchEnv, diffMs, hidingUnified, median, ms, stats, table, timerScript } from "./timer.ts";
import { exeProtectionBench, exeProtectionSection, type ExeProtectionResult } from "./exe-protection.ts";
import { imagesBench, imagesSection, type ImagesResult } from "./images.ts";
import { ociBench, ociSection, type OciResult } from "./oci.ts";
import { soakBench, soakSection, type SoakResult } from "./soak.ts";
import { writeBundle as writeBundleIn } from "./bundle.ts";
import { REPO, BOX, OUT } from "./sections.ts";


const WARMUP = 3;
const RUNS = Math.max(20, Number(process.env.BENCH_RUNS ?? 100));
const TRACE_RUNS = Math.max(5, Number(process.env.BENCH_TRACE_RUNS ?? 30));
const MEM_RUNS = Math.max(1, Number(process.env.BENCH_MEM_RUNS ?? 5));
const SLEEP_PAYLOAD = "0.3";

/** Unique to this run: crun/runc container ids and anything they name after them. */
const PREFIX = `boxbench-${process.pid}-`;
const TMP = mkdtempSync(join(tmpdir(), "box-bench-"));
const ROOTFS = join(TMP, "rootfs");
const STORE = { root: join(TMP, "box-root"), runroot: join(TMP, "box-run") };
const CRUN_STATE = join(TMP, "crun-state");
const RUNC_STATE = join(TMP, "runc-state");
const BUNDLE_TRUE = join(TMP, "bundle-true");
const BUNDLE_SLEEP = join(TMP, "bundle-sleep");
const BUNDLE_LIMITS = join(TMP, "bundle-limits");
/** The limits whose cost is measured: `-m 1G --cpus 1 --pids-limit 100`, and the same in config.json. */
const LIMIT_FLAGS = ["-m", "1g", "--cpus", "1", "--pids-limit", "100"];
const OCI_LIMITS = { memory: { limit: 2 ** 30 }, cpu: { quota: 100000, period: 100000 }, pids: { limit: 100 } };
const UNIFIED = "/sys/fs/cgroup/unified";

const ENV = benchEnv();

// ---------------------------------------------------------------- small helpers

function nowMs(): number {
  return performance.timeOrigin + performance.now();
}

function sh(cmd: string[]): { ok: boolean; code: number; out: string; err: string } {
  try {
    const r = Bun.spawnSync(cmd, { env: ENV, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
    return { ok: r.exitCode === 0, code: r.exitCode ?? -1, out: r.stdout.toString().trim(), err: r.stderr.toString().trim() };
  } catch (e) {
    return { ok: false, code: -1, out: "", err: String(e) };
  }
}

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
}

function listDir(path: string): string[] {
  try {
    return readdirSync(path);
  } catch {
    return [];
  }
}

const mib = (kb: number) => (Number.isFinite(kb) ? (kb / 1024).toFixed(1) : "n/a");

// ---------------------------------------------------------------- leak bookkeeping

function mountPoints(): string[] {
  return (readText("/proc/self/mountinfo") ?? "")
    .split("\n")
    .filter(Boolean)
    .map((l) => l.split(" ")[4]!)
    .sort();
}

/** box's per-container cgroups: <hierarchy>/box/<id>. */
function boxCgroups(): string[] {
  const out: string[] = [];
  for (const h of listDir("/sys/fs/cgroup")) for (const id of listDir(`/sys/fs/cgroup/${h}/box`)) {
    if (!id.includes(".") && statSafe(`/sys/fs/cgroup/${h}/box/${id}`)?.isDirectory()) out.push(`/sys/fs/cgroup/${h}/box/${id}`);
  }
  return out.sort();
}

function statSafe(path: string) {
  try {
    return statSync(path);
  } catch {
    return undefined;
  }
}

/** Cgroup directories named after this run's crun/runc containers (they nest under the caller's cgroup for some controllers). */
function ourRuntimeCgroups(): string[] {
  return subdirs("/sys/fs/cgroup", 5)
    .filter((d) => basename(d).startsWith(PREFIX))
    .sort();
}

/** Processes that name our temporary directory (box's init carries it in BOX_ROOT; crun/runc in argv). */
function ourProcesses(): number[] {
  const pids: number[] = [];
  for (const p of listDir("/proc")) {
    if (!/^\d+$/.test(p) || Number(p) === process.pid) continue;
    const text = (readText(`/proc/${p}/environ`) ?? "") + (readText(`/proc/${p}/cmdline`) ?? "");
    if (text.includes(TMP)) pids.push(Number(p));
  }
  return pids;
}

function boxContainerDirs(): string[] {
  const out: string[] = [];
  for (const d of [join(STORE.root, "containers"), join(STORE.runroot, "containers"), join(STORE.root, "names")]) {
    out.push(...listDir(d).map((e) => join(d, e)));
  }
  return out;
}

/** ids of box containers this run has seen (from the init's plan), to attribute leaked cgroups. */
const boxIdsSeen = new Set<string>();

const notes: string[] = [];
function note(s: string): void {
  notes.push(s);
  console.log(`note: ${s}`);
}

// ---------------------------------------------------------------- setup

function writeBundle(dir: string, args: string[], resources?: object): void {
  writeBundleIn(dir, ROOTFS, ENV, args, resources);
}

// ---------------------------------------------------------------- the timed commands

/**
 * Every timed command runs under this bash snippet: $EPOCHREALTIME (a builtin, µs) before and
 * after, so the time covers fork+exec+run+wait of the runtime and nothing of the harness start.
 * The wrapper's own start (and, for crun, unshare and the tmpfs mount) is outside.
 */
const TIMER = timerScript("stderr");
/** crun 1.8 refuses a hybrid host; hiding the cgroup2 mount in a private mount namespace fixes it. */

let crunWrapped = true;
let runSeq = 0;

/**
 * What crun's and runc's bundle has: a network namespace with only lo. box's default, a bridge
 * with a veth per container, has a benchmark of its own (bench/network.ts).
 */
const BOX_NETWORK = ["--network", "none"];

type Runtime = "box" | "crun" | "runc" | "box +limits" | "crun +limits" | "box --version" | "/bin/true";

function runtimeCommand(rt: Runtime, payload: "true" | "sleep"): string[] {
  const id = `${PREFIX}${++runSeq}`;
  const bundle = payload === "true" ? BUNDLE_TRUE : BUNDLE_SLEEP;
  const cmd = payload === "true" ? ["/bin/true"] : ["/bin/sleep", SLEEP_PAYLOAD];
  switch (rt) {
    case "box":
      return [BOX, "--root", STORE.root, "--runroot", STORE.runroot, "run", "--rm", ...BOX_NETWORK, "--rootfs", ROOTFS, ...cmd];
    case "crun":
      return ["crun", "--root", CRUN_STATE, "run", "--bundle", bundle, id];
    case "runc":
      return ["runc", "--root", RUNC_STATE, "run", "--bundle", bundle, id];
    case "box +limits":
      return [BOX, "--root", STORE.root, "--runroot", STORE.runroot, "run", "--rm", ...BOX_NETWORK, ...LIMIT_FLAGS, "--rootfs", ROOTFS, ...cmd];
    case "crun +limits":
      return ["crun", "--root", CRUN_STATE, "run", "--bundle", BUNDLE_LIMITS, id];
    case "box --version":
      return [BOX, "--version"];
    case "/bin/true":
      return ["/bin/true"];
  }
}

/** The full argv: the timer, and for crun the mount-namespace wrapper around it. */
function timedArgv(rt: Runtime): string[] {
  const inner = runtimeCommand(rt, "true");
  if (rt.startsWith("crun") && crunWrapped) return hidingUnified(UNIFIED, "bash", TIMER, inner);
  return ["bash", "-c", TIMER, "bash", ...inner];
}

interface Timing {
  inner: number;
  outer: number;
}

function timedRun(rt: Runtime): Timing {
  const argv = timedArgv(rt);
  const start = nowMs();
  const r = Bun.spawnSync(argv, { env: ENV, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  const outer = nowMs() - start;
  const m = /^T (\d+\.\d+) (\d+\.\d+) (\d+)$/m.exec(r.stdout.toString());
  if (r.exitCode !== 0 || !m || m[3] !== "0") {
    throw new Error(
      `${rt} failed (wrapper exit ${r.exitCode}, runtime exit ${m?.[3] ?? "?"}): ${argv.join(" ")}\n${r.stderr.toString().trim()}`,
    );
  }
  if (rt === "box" && boxContainerDirs().length) throw new Error(`box run --rm left container state: ${boxContainerDirs().join(", ")}`);
  return { inner: diffMs(m[1]!, m[2]!), outer };
}

// ---------------------------------------------------------------- memory

interface Mem {
  hwm: number; // VmHWM, kB: peak RSS
  rss: number; // VmRSS, kB
  pss: number; // smaps_rollup Pss, kB
  pssAnon: number;
  pssFile: number;
}

function readMem(pid: number): Mem | undefined {
  const status = readText(`/proc/${pid}/status`);
  const rollup = readText(`/proc/${pid}/smaps_rollup`);
  if (!status || !rollup) return undefined;
  const field = (text: string, name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(text)?.[1] ?? NaN);
  const m = {
    hwm: field(status, "VmHWM"),
    rss: field(status, "VmRSS"),
    pss: field(rollup, "Pss"),
    pssAnon: field(rollup, "Pss_Anon"),
    pssFile: field(rollup, "Pss_File"),
  };
  return Number.isFinite(m.hwm) && Number.isFinite(m.pss) ? m : undefined;
}

function children(pid: number): number[] {
  const out: number[] = [];
  for (const tid of listDir(`/proc/${pid}/task`)) {
    for (const c of (readText(`/proc/${pid}/task/${tid}/children`) ?? "").trim().split(/\s+/)) if (c) out.push(Number(c));
  }
  return out;
}

const comm = (pid: number) => (readText(`/proc/${pid}/comm`) ?? "").trim();

function payloadAlive(pid: number | undefined): boolean {
  if (pid === undefined) return false;
  const stat = readText(`/proc/${pid}/stat`);
  return !!stat && !/\) [ZX] /.test(stat);
}

/** Per process role, the sample taken last while the payload was still running. */
type MemRun = Record<string, Mem>;

/**
 * Starts `rt` with a `sleep` payload and samples its own processes every few ms while the payload
 * runs: box's CLI and init (the CLI's child), crun's or runc's one process (the payload's parent).
 */
async function memRun(rt: "box" | "crun" | "runc"): Promise<MemRun> {
  const inner = runtimeCommand(rt, "sleep");
  const argv =
    rt === "crun" && crunWrapped ? hidingUnified(UNIFIED, "sh", 'exec "$@"', inner) : inner;
  const proc = Bun.spawn(argv, { env: ENV, stdin: "ignore", stdout: "ignore", stderr: "pipe" });
  const stderr = new Response(proc.stderr).text();
  const last: MemRun = {};
  const top = proc.pid;
  while (proc.exitCode === null) {
    let roles: [string, number][] = [];
    let payload: number | undefined;
    if (rt === "box") {
      const init = children(top).find((c) => comm(c) === "box");
      const pl = init === undefined ? undefined : children(init)[0];
      if (init !== undefined && pl !== undefined && comm(pl) === "sleep") {
        roles = [["box CLI", top], ["box init", init]];
        payload = pl;
        for (const id of listDir(join(STORE.root, "containers"))) boxIdsSeen.add(id);
      }
    } else if (comm(top) === rt) {
      const pl = children(top).find((c) => comm(c) === "sleep");
      if (pl !== undefined) {
        roles = [[rt, top]];
        payload = pl;
      }
    }
    if (roles.length) {
      const sample: MemRun = {};
      for (const [role, pid] of roles) {
        const m = readMem(pid);
        if (m) sample[role] = m;
      }
      // Keep it only if the payload outlived the reading: then it is "just before the payload exits".
      if (payloadAlive(payload) && Object.keys(sample).length === roles.length) Object.assign(last, sample);
    }
    await Bun.sleep(5);
  }
  const code = await proc.exited;
  if (code !== 0) throw new Error(`${rt} (sleep payload) exited ${code}: ${(await stderr).trim()}`);
  if (!Object.keys(last).length) throw new Error(`${rt}: never saw its processes with the payload running`);
  return last;
}

// ---------------------------------------------------------------- trace

const CLI_PHASES = ["start", "trampoline-loaded", "init-spawned", "spec-built", "created", "init-exited", "done"] as const;
const INIT_PHASES = ["start", "prepared", "plan-received", "rootfs-built", "payload-started", "payload-exited", "cleaned-up"] as const;

interface TraceRun {
  spawnAt: number;
  exitAt: number;
  cli: Record<string, number>;
  init: Record<string, number>;
  cliOrigin: number;
  initOrigin: number;
}

function traceRun(): TraceRun {
  const argv = runtimeCommand("box", "true");
  const spawnAt = nowMs();
  const r = Bun.spawnSync(argv, { env: { ...ENV, BOX_TRACE: "1" }, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  const exitAt = nowMs();
  const err = r.stderr.toString();
  if (r.exitCode !== 0) throw new Error(`traced box run exited ${r.exitCode}: ${err}`);
  const run: TraceRun = { spawnAt, exitAt, cli: {}, init: {}, cliOrigin: NaN, initOrigin: NaN };
  for (const line of err.split("\n")) {
    if (!line.startsWith("{")) continue;
    let ev: { box_trace?: string; phase?: string; t?: number; origin?: number };
    try {
      ev = JSON.parse(line);
    } catch {
      continue;
    }
    if ((ev.box_trace !== "cli" && ev.box_trace !== "init") || typeof ev.phase !== "string" || typeof ev.t !== "number") continue;
    run[ev.box_trace][ev.phase] = ev.t;
    if (typeof ev.origin === "number") run[ev.box_trace === "cli" ? "cliOrigin" : "initOrigin"] = ev.origin;
  }
  const missing = [
    ...CLI_PHASES.filter((p) => run.cli[p] === undefined).map((p) => `cli:${p}`),
    ...INIT_PHASES.filter((p) => run.init[p] === undefined).map((p) => `init:${p}`),
  ];
  if (missing.length) throw new Error(`BOX_TRACE=1 output lacks ${missing.join(", ")}; stderr was:\n${err}`);
  return run;
}

interface Step {
  name: string;
  proc: string;
  what: string;
  get: (r: TraceRun) => number;
}

// The CLI starts the init first; the steps marked "parallel" overlap: the CLI builds and
// creates the container while the init's runtime starts, and the init waits for its plan.
const STEPS: Step[] = [
  { name: "spawn → CLI origin", proc: "cli", what: "fork+exec of dist/box and loading it, until Bun's clock starts (from the benchmark's side)", get: (r) => r.cliOrigin - r.spawnAt },
  { name: "bun runtime start", proc: "cli", what: "Bun runtime + bytecode of box loaded until main runs (first `t` − `origin`)", get: (r) => r.cli.start! - r.cliOrigin },
  { name: "start → trampoline-loaded", proc: "cli", what: "parse the flags, load the spawn trampoline (prebuilt .so from a memfd, dlopen)", get: (r) => r.cli["trampoline-loaded"]! - r.cli.start! },
  { name: "trampoline-loaded → init-spawned", proc: "cli", what: "clone the init into new namespaces (CLONE_VM|CLONE_VFORK) until it has exec'd", get: (r) => r.cli["init-spawned"]! - r.cli["trampoline-loaded"]! },
  { name: "init-spawned → spec-built (parallel)", proc: "cli", what: "resolve the rootfs or image, build the container spec", get: (r) => r.cli["spec-built"]! - r.cli["init-spawned"]! },
  { name: "spec-built → created (parallel)", proc: "cli", what: "claim the name, state dirs, config, cgroups (v1 devices allow-list)", get: (r) => r.cli.created! - r.cli["spec-built"]! },
  { name: "init-spawned → init origin (parallel)", proc: "init", what: "exec of dist/box as the init until its Bun clock starts", get: (r) => r.initOrigin - r.cli["init-spawned"]! },
  { name: "bun runtime start (parallel)", proc: "init", what: "the init's own Bun runtime start (first `t` − `origin`)", get: (r) => r.init.start! - r.initOrigin },
  { name: "start → prepared", proc: "init", what: "what needs no plan, while the CLI still works: load the spawn trampoline, detect cgroups, bring lo up", get: (r) => r.init.prepared! - r.init.start! },
  { name: "prepared → plan-received", proc: "init", what: "the init waits for the CLI's plan (0 when the CLI was done first)", get: (r) => r.init["plan-received"]! - r.init.prepared! },
  { name: "plan-received → rootfs-built", proc: "init", what: "read the config, open host handles; tmpfs stage, rootfs mount, /proc /dev /sys, volumes, pivot_root, masks", get: (r) => r.init["rootfs-built"]! - r.init["plan-received"]! },
  { name: "rootfs-built → payload-started", proc: "init", what: "hostname, user/env/command resolution, spawn of the payload, which joins its cgroups first", get: (r) => r.init["payload-started"]! - r.init["rootfs-built"]! },
  { name: "payload-started → payload-exited", proc: "init", what: "/bin/true runs and is reaped", get: (r) => r.init["payload-exited"]! - r.init["payload-started"]! },
  { name: "payload-exited → cleaned-up", proc: "init", what: "kill leftovers, remove cgroups and container files (--rm)", get: (r) => r.init["cleaned-up"]! - r.init["payload-exited"]! },
  { name: "cleaned-up → CLI init-exited", proc: "cli", what: "the init exits (no Bun teardown); the CLI sees EOF on the sync pipe and reaps it", get: (r) => r.cli["init-exited"]! - r.init["cleaned-up"]! },
  { name: "init-exited → done", proc: "cli", what: "the CLI's own --rm cleanup (idempotent), status", get: (r) => r.cli.done! - r.cli["init-exited"]! },
  { name: "done → exit seen", proc: "cli", what: "the CLI's process exit (no Bun teardown) until the benchmark's waitpid returns", get: (r) => r.exitAt - r.cli.done! },
];

// ---------------------------------------------------------------- machine facts

function firstLine(s: string): string {
  return s.split("\n")[0]?.trim() ?? "";
}

function machine(): [string, string][] {
  const cpu = cpus();
  const boxVersion = sh([BOX, "--version"]);
  const head = sh(["git", "-C", REPO, "rev-parse", "--short", "HEAD"]);
  // GIT_OPTIONAL_LOCKS=0: status must not refresh (write) the index.
  const dirty = Bun.spawnSync(["git", "-C", REPO, "status", "--porcelain", "--untracked-files=no"], {
    env: { ...ENV, GIT_OPTIONAL_LOCKS: "0" },
    stdout: "pipe",
    stderr: "pipe",
  });
  const binary = statSafe(BOX);
  const cgroup = existsSync(`${UNIFIED}/cgroup.controllers`)
    ? `v1 hybrid (cgroup2 at ${UNIFIED}, controllers: "${readText(`${UNIFIED}/cgroup.controllers`)?.trim() ?? ""}")`
    : existsSync("/sys/fs/cgroup/cgroup.controllers")
      ? "v2 unified"
      : "v1";
  return [
    ["Kernel", `Linux ${release()}`],
    ["CPU", `${cpu.length} × ${cpu[0]?.model.trim() ?? "?"}`],
    ["Memory", `${(totalmem() / 2 ** 30).toFixed(1)} GiB`],
    ["Cgroups", cgroup],
    ["box", `${firstLine(boxVersion.out) || boxVersion.err} (dist/box, ${binary ? (binary.size / 1e6).toFixed(1) : "?"} MB, built ${binary?.mtime.toISOString() ?? "?"}; tree ${head.out || "?"}${dirty.stdout.toString().trim() ? " + uncommitted changes" : ""})`],
    ["crun", firstLine(sh(["crun", "--version"]).out)],
    ["runc", firstLine(sh(["runc", "--version"]).out)],
    ["Bun", Bun.version],
    ["bash (timer)", firstLine(sh(["bash", "--version"]).out)],
  ];
}

// ---------------------------------------------------------------- cleanup

function cleanup(): void {
  // Containers still running (only on failure): their processes name our directory.
  for (const pid of ourProcesses()) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {}
  }
  for (const [bin, state] of [["crun", CRUN_STATE], ["runc", RUNC_STATE]] as const) {
    for (const id of listDir(state)) {
      const del = [bin, "--root", state, "delete", "-f", id];
      sh(bin === "crun" && crunWrapped ? hidingUnified(UNIFIED, "sh", 'exec "$@"', del) : del);
    }
  }
  // Cgroups that are ours by name: crun/runc containers of this run, box containers whose id we saw.
  const leftovers = [...ourRuntimeCgroups(), ...boxCgroups().filter((d) => boxIdsSeen.has(d.split("/").pop()!))];
  for (const dir of leftovers.sort((a, b) => b.length - a.length)) {
    try {
      rmdirSync(dir);
    } catch {}
  }
  // Never recurse through a mount: detach whatever is still mounted below our directory first.
  for (const mp of mountPoints().filter((m) => m.startsWith(TMP + "/")).reverse()) sh(["umount", "-l", mp]);
  rmSync(TMP, { recursive: true, force: true });
}

// ---------------------------------------------------------------- main

async function main(): Promise<void> {
  if (!existsSync(BOX)) throw new Error(`${BOX} missing: run \`bun run build\` first`);
  for (const tool of ["crun", "runc", "bash", "unshare"]) if (!Bun.which(tool)) throw new Error(`${tool} not found`);
  const started = nowMs();
  const date = new Date();

  const newest = (dir: string): number =>
    Math.max(0, ...readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => statSafe(join(e.parentPath, e.name))?.mtimeMs ?? 0));
  if (newest(join(REPO, "src")) > (statSafe(BOX)?.mtimeMs ?? 0)) note("src/ has files newer than dist/box: the binary measured may not match the source tree.");

  busyboxRootfs(ROOTFS);
  writeBundle(BUNDLE_TRUE, ["/bin/true"]);
  writeBundle(BUNDLE_SLEEP, ["/bin/sleep", SLEEP_PAYLOAD]);
  writeBundle(BUNDLE_LIMITS, ["/bin/true"], OCI_LIMITS);
  for (const d of [STORE.root, STORE.runroot, CRUN_STATE, RUNC_STATE]) mkdirSync(d, { recursive: true });

  const mountsBefore = mountPoints();
  const boxCgroupsBefore = new Set(boxCgroups());

  // Does crun work on this host without hiding the cgroup2 mount?
  const bare = sh(runtimeCommand("crun", "true"));
  crunWrapped = !bare.ok;
  const crunBare = bare.ok ? "works without the wrapper" : `fails without the wrapper (exit ${bare.code}: "${bare.err}")`;
  console.log(`crun ${crunBare}`);
  if (crunWrapped && !existsSync(UNIFIED)) throw new Error(`crun fails and ${UNIFIED} does not exist to hide: ${bare.err}`);

  // 1-3: interleaved timed runs.
  const order: Runtime[] = ["box", "crun", "runc", "box +limits", "crun +limits", "box --version", "/bin/true"];
  const timings = new Map<Runtime, Timing[]>(order.map((r) => [r, []]));
  for (let i = 0; i < WARMUP + RUNS; i++) {
    for (const rt of order) {
      const t = timedRun(rt);
      if (i >= WARMUP) timings.get(rt)!.push(t);
    }
    if ((i + 1) % 10 === 0) console.log(`timed runs: ${i + 1}/${WARMUP + RUNS}`);
    await Bun.sleep(0); // lets a pending SIGINT/SIGTERM handler run (and clean up)
  }

  // 4: memory, interleaved too.
  const mem = new Map<string, Mem[]>();
  for (let i = 0; i < MEM_RUNS; i++) {
    for (const rt of ["box", "crun", "runc"] as const) {
      const run = await memRun(rt);
      for (const [role, m] of Object.entries(run)) mem.set(role, [...(mem.get(role) ?? []), m]);
    }
  }
  console.log("memory runs done");

  // 5: traced runs (after one warm-up), separate from the timed ones.
  traceRun();
  const traces: TraceRun[] = [];
  for (let i = 0; i < TRACE_RUNS; i++) {
    traces.push(traceRun());
    await Bun.sleep(0);
  }
  console.log("trace runs done");

  // 6: detached containers: exec, idle memory, 50 starts and removals.
  const lifecycle = await lifecycleBench({ box: BOX, tmp: TMP, rootfs: ROOTFS, env: ENV, crunWrapped, unified: UNIFIED, writeBundle, runs: Math.min(RUNS, 50) });
  console.log("lifecycle runs done");

  // 7: the bridge network's cost and a published port's throughput, next to podman's.
  const network = await networkBench({ box: BOX, tmp: TMP, rootfs: ROOTFS, env: ENV, runs: Math.min(RUNS, 20) });
  console.log("network runs done");

  // 8: what keeping box's binary out of the container's reach costs, next to the alternatives.
  const exeProtection = exeProtectionBench({ box: BOX, tmp: TMP, runs: Math.min(RUNS, 30) });
  console.log("exe protection runs done");

  // 9: unpacking a large layer (GNU tar, umoci, box import), and starts from an image next to podman's.
  const images = await imagesBench({ box: BOX, tmp: TMP, rootfs: ROOTFS, env: ENV });
  console.log("image runs done");

  // 10: box as an OCI runtime: box oci run next to crun and runc on one bundle, and behind dockerd.
  const oci = await ociBench({ box: BOX, tmp: TMP, rootfs: ROOTFS, env: ENV, crunWrapped, unified: UNIFIED, writeBundle, runs: Math.min(RUNS, 50) });
  console.log("oci runs done");

  // 11: soak and chaos: many containers, box processes killed at random moments, the cleanup, what is left.
  const soak = await soakBench({ box: BOX, tmp: TMP, rootfs: ROOTFS });
  console.log("soak done");

  // Leak checks.
  await Bun.sleep(100);
  const procs = ourProcesses();
  if (procs.length) note(`processes still running after the benchmark: ${procs.map((p) => `${p} (${comm(p)})`).join(", ")} (killed)`);
  if (boxContainerDirs().length) note(`box left container state: ${boxContainerDirs().join(", ")}`);
  const newMounts = mountPoints().filter((m) => !mountsBefore.includes(m));
  if (newMounts.length) note(`host mounts appeared during the benchmark: ${newMounts.join(", ")}`);
  const newBoxCgroups = boxCgroups().filter((d) => !boxCgroupsBefore.has(d));
  const ours = newBoxCgroups.filter((d) => boxIdsSeen.has(d.split("/").pop()!));
  if (ours.length) note(`box left cgroups of its containers: ${ours.join(", ")} (removed)`);
  if (newBoxCgroups.length > ours.length) {
    const ids = [...new Set(newBoxCgroups.filter((d) => !ours.includes(d)).map((d) => d.split("/").pop()!.slice(0, 12)))];
    note(`box cgroups of other containers appeared during the run (another box running concurrently, not this benchmark's): box/${ids.join(", box/")} (left alone)`);
  }
  const rtCgroups = ourRuntimeCgroups();
  if (rtCgroups.length) note(`crun/runc left cgroups: ${rtCgroups.join(", ")} (removed)`);
  for (const [name, dir] of [["crun", CRUN_STATE], ["runc", RUNC_STATE]] as const) {
    if (listDir(dir).length) note(`${name} left state: ${listDir(dir).join(", ")}`);
  }

  const elapsed = (nowMs() - started) / 1000;
  const doc = report({ date, machine: machine(), crunBare, timings, mem, traces, elapsed, lifecycle, network, exeProtection, images, oci, soak });
  writeFileSync(OUT, doc);
  console.log(`\n${doc}\nwrote ${OUT} (${elapsed.toFixed(1)} s)`);
}

interface ReportInput {
  date: Date;
  machine: [string, string][];
  crunBare: string;
  timings: Map<Runtime, Timing[]>;
  mem: Map<string, Mem[]>;
  traces: TraceRun[];
  elapsed: number;
  lifecycle: LifecycleResult;
  network: NetworkResult;
  exeProtection: ExeProtectionResult;
  images: ImagesResult;
  oci: OciResult;
  soak: SoakResult;
}

/** The bridge network's section: what it adds to a run, and a published port's throughput. */
function networkSection(n: NetworkResult): string {
  const keys = (Object.keys(n.run) as (keyof NetworkResult["run"])[]).filter((k) => n.run[k].length);
  const st = Object.fromEntries(keys.map((k) => [k, stats(n.run[k])])) as Record<keyof NetworkResult["run"], ReturnType<typeof stats>>;
  const added = (engine: "box" | "podman") => st[`${engine} bridge`].median - st[`${engine} none`].median;
  const mbps = (xs: number[]) => (xs.length ? stats(xs).median.toFixed(0) : "–");
  return `### Bridge networking: its cost per run, and a published port's throughput

\`run --rm /bin/true\` with \`--network none\` and with the default bridge network (box: \`box0\`, a veth
pair, an address lease; podman: netavark's \`podman\` network), interleaved, ${n.run["box none"].length} runs each after 2
warm-ups, same timer as above. podman as in the lifecycle runs (runc, cgroupfs, file events). ms.

${table(["", "median", "p10", "p90", "n"], keys.map((k) => [`${k.split(" ")[0]} run, ${k.split(" ")[1]}`, ms(st[k].median), ms(st[k].p10), ms(st[k].p90), String(st[k].n)]), ["l", "r", "r", "r", "r"])}

- What the bridge network adds (median with − median without): box **${ms(added("box"))} ms**${n.podman ? `, podman **${ms(added("podman"))} ms**` : " (podman is not installed here)"}.

Throughput of a published port, host → container: \`run -d -p 127.0.0.1:PORT:5201\` of busybox
\`nc -l -p 5201 -e sh -c 'cat >/dev/null'\`; the benchmark (Bun) connects to 127.0.0.1:PORT, writes ${(n.bytes / 2 ** 30).toFixed(0)} GiB and
times until the container's side closes; median of ${n.throughput.box.length} transfers, MB/s (10^6 bytes/s):
box **${mbps(n.throughput.box)}**${n.podman ? `, podman **${mbps(n.throughput.podman)}**` : ""}. Both go through the kernel's NAT
(box's nftables rule, podman's iptables rules via netavark); neither runs a proxy process here.
`;
}

/** The detached-container section: exec, idle memory, 50 starts and removals, with the targets. */
function lifecycleSection(l: LifecycleResult): string {
  const e = { box: stats(l.exec.box), crun: stats(l.exec.crun), runc: stats(l.exec.runc), podman: stats(l.exec.podman) };
  const runtimes = (l.exec.podman.length ? ["box", "crun", "runc", "podman"] : ["box", "crun", "runc"]) as ("box" | "crun" | "runc" | "podman")[];
  const yes = (b: boolean) => (b ? "**met**" : "**not met**");
  const mb = (kib: number) => (kib / 1024).toFixed(2);
  const f = l.fifty;
  return `### Detached containers: exec, idle memory, 50 starts

\`exec CONTAINER /bin/true\` into one running container each (\`box run -d\`, \`crun run -d\`,
\`runc run -d\`, \`podman run -d\` of \`sleep\`), interleaved, ${l.exec.box.length} runs each after 3 warm-ups (podman:
${l.exec.podman.length}); same timer as above (crun inside the same mount-namespace wrapper). Debian's podman 4.3
runs here only with \`--runtime runc --cgroup-manager cgroupfs --events-backend file\` and
ulimits within this machine's hard limits (containers.conf \`default_ulimits\`). ms.

${table(["", "median", "p10", "p90", "min", "max", "n"], runtimes.map((k) => [`${k} exec`, ms(e[k].median), ms(e[k].p10), ms(e[k].p90), ms(e[k].min), ms(e[k].max), String(e[k].n)]), ["l", "r", "r", "r", "r", "r", "r"])}

- Target "box exec below runc's": ${yes(e.box.median < e.runc.median)} (${ms(e.box.median)} vs ${ms(e.runc.median)} ms).
- Target "box exec at most 1.5× crun's": ${yes(e.box.median <= 1.5 * e.crun.median)} (${ms(e.box.median)} vs 1.5 × ${ms(e.crun.median)} = ${ms(1.5 * e.crun.median)} ms).

Memory with ${l.idle.containers} idle detached containers (\`sleep\`) running: PSS of every box process of
the store (${l.idle.processes} processes: one init per container, by then the native watcher of
docs/ARCHITECTURE.md rather than a Bun runtime; no CLI stays):
${mb(l.idle.pssKiB)} MiB in all, **${mb(l.idle.perContainerKiB)} MiB per container**. Target "at most 3 MB per idle
container": ${yes(l.idle.perContainerKiB * 1024 <= 3e6)}. crun keeps no process per container (0 MB); ${l.podmanIdle ? `podman keeps a conmon each: ${mb(l.podmanIdle.pssKiB)} MiB for ${l.podmanIdle.processes} conmons, **${mb(l.podmanIdle.perContainerKiB)} MiB per container**` : "podman is not installed here"}.

50 detached containers started one after the other (\`run -d\`), then removed one by one
(\`rm -f\` / \`delete -f\`), as a shell loop would; total seconds:

${table(["", "50 starts", "50 removals"], [["box", (f.box.start / 1000).toFixed(2), (f.box.remove / 1000).toFixed(2)], ["crun", (f.crun.start / 1000).toFixed(2), (f.crun.remove / 1000).toFixed(2)]], ["l", "r", "r"])}

- Target "50 starts within 2× crun's": ${yes(f.box.start <= 2 * f.crun.start)} (${(f.box.start / 1000).toFixed(2)} vs 2 × ${(f.crun.start / 1000).toFixed(2)} s).
`;
}

const HEADER = `# Benchmarks

How long \`box run\` takes to start and finish a container, next to crun and runc, how much memory
box's processes use, and where box's time goes; then detached containers: \`exec\` next to crun,
runc and podman, the memory held per idle container, and 50 starts and removals; then what the
default bridge network adds to a run and a published port's throughput, next to podman; what
keeping box's binary out of a container's reach costs per start; and how fast a large layer is
unpacked (GNU tar, umoci, \`box import\`) and what an image's overlay adds to a start, next to
podman. Run it on a quiet machine, as root:

    bun run build && bun bench/run.ts        # or: bun run build && bun run bench

It needs \`crun\`, \`runc\`, \`bash\`, \`unshare\` (util-linux) and \`umoci\`, and uses \`podman\` when it is
there and GNU time (\`/usr/bin/time\`) for peak RSS; its first run builds a Debian rootfs with
\`debootstrap\` (from apt's bookworm mirror) and keeps its tar in /var/cache/box-bench/debian-rootfs.tar
(a slice of the host's /usr when debootstrap cannot run); everything else it creates lives in one
temporary directory (box stores, crun/runc/podman state, OCI bundles and layout, a busybox
rootfs), which it removes afterwards; box's bridge goes with \`box system prune\`, podman's
default network (netavark's \`podman0\` and its iptables chains) is podman's and stays.
\`BENCH_RUNS\`, \`BENCH_TRACE_RUNS\`, \`BENCH_MEM_RUNS\`, \`BENCH_IMAGE_RUNS\` and \`BENCH_COLD_RUNS\` change the
number of runs; \`bun bench/images.ts\` runs the image part alone and prints its section. Everything
below this header is written by \`bench/run.ts\`, which rewrites this file on every run: edit the
script, not the numbers.
`;

function report(r: ReportInput): string {
  const s = new Map([...r.timings].map(([rt, ts]) => [rt, stats(ts.map((t) => t.inner))]));
  const so = new Map([...r.timings].map(([rt, ts]) => [rt, stats(ts.map((t) => t.outer))]));
  const box = s.get("box")!;
  const crun = s.get("crun")!;
  const runc = s.get("runc")!;
  const belowRunc = box.median < runc.median;
  const within2xCrun = box.median <= 2 * crun.median;

  const label: Record<Runtime, string> = {
    box: "box run --rm",
    crun: "crun run",
    runc: "runc run",
    "box +limits": "box run --rm -m 1G --cpus 1 --pids-limit 100",
    "crun +limits": "crun run, same limits in config.json",
    "box --version": "*ref:* box --version",
    "/bin/true": "*ref:* /bin/true (timer floor)",
  };
  const timeRows = [...s].map(([rt, st]) => [label[rt], ms(st.median), ms(st.p10), ms(st.p90), ms(st.mean), ms(st.min), ms(st.max), String(st.n)]);
  const outerRows = [...so].map(([rt, st]) => [label[rt], ms(st.median), ms(st.p10), ms(st.p90), ms(st.median - s.get(rt)!.median)]);

  const memRoles = ["box CLI", "box init", "crun", "runc"].filter((k) => r.mem.has(k));
  const memMed = (role: string, k: keyof Mem) => median((r.mem.get(role) ?? []).map((m) => m[k]));
  const memRows = memRoles.map((role) => [role, mib(memMed(role, "hwm")), mib(memMed(role, "rss")), mib(memMed(role, "pss")), mib(memMed(role, "pssAnon")), mib(memMed(role, "pssFile")), String(r.mem.get(role)!.length)]);
  const boxTotal = (k: keyof Mem) => median((r.mem.get("box CLI") ?? []).map((m, i) => m[k] + (r.mem.get("box init")?.[i]?.[k] ?? NaN)));
  memRows.push(["**box total**", mib(boxTotal("hwm")), mib(boxTotal("rss")), mib(boxTotal("pss")), mib(boxTotal("pssAnon")), mib(boxTotal("pssFile")), ""]);

  const stepRows = STEPS.map((st) => {
    const v = stats(r.traces.map(st.get));
    return [st.proc, st.name, ms(v.median, 2), ms(v.p10, 2), ms(v.p90, 2), st.what];
  });
  const sumOfMedians = STEPS.filter((st) => !st.name.includes("(parallel)") || st.proc === "init").reduce((a, st) => a + median(r.traces.map(st.get)), 0);
  const tracedTotal = stats(r.traces.map((t) => t.exitAt - t.spawnAt));
  const runtimeStarts = median(r.traces.map((t) => t.cli.start! - t.cliOrigin + (t.init.start! - t.initOrigin)));
  const prepared = median(r.traces.map((t) => t.init.prepared! - t.init.start!));

  const yes = (b: boolean) => (b ? "**met**" : "**not met**");
  return `${HEADER}
## Results

Generated ${r.date.toISOString()} by \`bench/run.ts\` in ${r.elapsed.toFixed(0)} s.

### Machine

${table(["", "version / value"], r.machine.map(([k, v]) => [k, v]), ["l", "l"])}

### Method

- One busybox rootfs (Debian's busybox-static, built by \`test/helpers/rootfs.ts\` in the temporary
  directory) for all three. box runs \`box --root T/box-root --runroot T/box-run run --rm --network
  none --rootfs T/rootfs /bin/true\` (a network namespace with only lo, as the bundle's; what box's
  default bridge network adds is measured separately below). crun and runc run the same OCI bundle: \`runc spec\`, then process.terminal =
  false, args = ["/bin/true"], root = {path: T/rootfs, readonly: false}, namespaces = pid, network,
  ipc, uts, mount, cgroup (box's set), linux.seccomp = Docker's default profile (box's own, in the
  OCI format: \`defaultProfileJson\` in src/security/seccomp.ts), so that all three filter alike;
  everything else as \`runc spec\` writes it. Commands:
  \`crun --root T/crun-state run --bundle B <id>\`, \`runc --root T/runc-state run --bundle B <id>\`,
  a fresh id per run.
- crun on this host, run directly: ${r.crunBare}.
  ${crunWrapped ? `So each crun run is \`unshare -m --propagation private bash -c 'mount -t tmpfs none ${UNIFIED}
  && <timer>'\`: the cgroup2 mount is hidden, in a private mount namespace only, and the timer
  starts after unshare and the mount.` : "So crun runs under the same timer as the others, without a wrapper."}
- Timer: every command runs under \`bash -c 't0=$EPOCHREALTIME; "$@"; t1=$EPOCHREALTIME'\`
  (a bash builtin, µs resolution, no extra process). The time is bash's fork + exec + the runtime's
  whole run + waitpid, and the same for all three; bash's start and, for crun, unshare and the
  mount happen before \`t0\` and are not charged. The runtime's exit status is checked (every run
  must exit 0), and after every box run its store must hold no container.
- ${WARMUP} warm-up runs each, then ${RUNS} runs each, interleaved (box, crun, runc, and two
  references: \`box --version\`, one Bun process start, and \`/bin/true\`, the timer's floor) so noise
  hits all alike. Times in ms.

### Time to run \`/bin/true\` in a container (ms)

${table(["", "median", "p10", "p90", "mean", "min", "max", "n"], timeRows)}

- box / crun (medians): **${(box.median / crun.median).toFixed(2)}×**; box / runc: **${(box.median / runc.median).toFixed(2)}×**.
- Target "box median below runc's": ${yes(belowRunc)} (${ms(box.median)} vs ${ms(runc.median)} ms).
- Target "box median at most 2× crun's": ${yes(within2xCrun)} (${ms(box.median)} vs 2 × ${ms(crun.median)} = ${ms(2 * crun.median)} ms).
- What \`-m 1G --cpus 1 --pids-limit 100\` adds (median with limits − median without): box
  ${ms(s.get("box +limits")!.median - box.median)} ms, crun ${ms(s.get("crun +limits")!.median - crun.median)} ms (the same limits in its config.json).

Seen from the benchmark process instead (Bun.spawnSync of the whole wrapper until it is reaped;
this includes bash's start and, for crun, unshare and the tmpfs mount):

${table(["", "median", "p10", "p90", "wrapper overhead (median)"], outerRows)}

### Memory

A run with payload \`sleep ${SLEEP_PAYLOAD}\`, ${MEM_RUNS}× per runtime, interleaved. Every 5 ms the benchmark reads
\`/proc/<pid>/status\` (VmHWM = peak RSS, VmRSS) and \`/proc/<pid>/smaps_rollup\` (PSS) of the
runtime's own processes; the table shows the last reading taken while the payload was still
running (median over the runs), in MiB. box's processes: the CLI, and the init (the CLI's child,
the container's PID 1), both \`dist/box\`. crun's and runc's: the \`crun run\`/\`runc run\` process, the
payload's parent (their container process has exec'd the payload, which is PID 1).
PSS splits pages shared between processes (box's CLI and init map the same executable).

${table(["process", "peak RSS (VmHWM)", "RSS", "PSS", "PSS anon", "PSS file", "n"], memRows)}

### Where box's time goes

${TRACE_RUNS} runs with \`BOX_TRACE=1\` (separate from the timed runs), after one warm-up. Each step is the
time between two trace points; "origin" is a process's \`performance.timeOrigin\`; the first and
last step are measured against the benchmark's own clock around \`Bun.spawnSync\`. ms.

${table(["proc", "step", "median", "p10", "p90", "what happens"], stepRows, ["l", "l", "r", "r", "r", "l"])}

- Sum of the step medians on the critical path (the CLI's parallel steps left out): ${ms(sumOfMedians, 2)} ms; traced run, spawn to exit: median ${ms(tracedTotal.median, 2)} ms (p10 ${ms(tracedTotal.p10, 2)}, p90 ${ms(tracedTotal.p90, 2)}).
- The traced runs run back to back, box only, straight from Bun.spawnSync; for comparison the interleaved timed box runs above: median ${ms(box.median)} ms.
- Two Bun runtime starts (CLI + init) take ${ms(runtimeStarts, 2)} ms of it; the init's preparation before its plan arrives (trampoline, cgroup detection, lo), ${ms(prepared, 2)} ms.
${r.timings.get("box --version")?.length ? `- For scale: one whole \`box --version\` process takes ${ms(s.get("box --version")!.median)} ms (median), crun's whole container run ${ms(crun.median)} ms.\n` : ""}
${lifecycleSection(r.lifecycle)}
${networkSection(r.network)}
${exeProtectionSection(r.exeProtection)}
${imagesSection(r.images)}

${ociSection(r.oci)}
${soakSection(r.soak)}
### Notes

${notes.length ? notes.map((n) => `- ${n}`).join("\n") : "- No leaks: after the runs no process, container state, host mount or cgroup of this benchmark was left."}
`;
}

let cleaned = false;
const onSignal = () => {
  if (!cleaned) {
    cleaned = true;
    cleanup();
  }
  process.exit(130);
};
process.on("SIGINT", onSignal);
process.on("SIGTERM", onSignal);

try {
  await main();
} catch (e) {
  console.error(`bench failed: ${e instanceof Error ? e.message : String(e)}`);
  process.exitCode = 1;
} finally {
  if (!cleaned) {
    cleaned = true;
    cleanup();
  }
}

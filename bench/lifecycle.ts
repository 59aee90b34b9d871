// The lifecycle part of the benchmark (issue: detached containers): `exec` into a running
// container against crun and runc, the memory box holds per idle detached container, and the
// time to start and to remove 50 detached containers. Called by bench/run.ts, which owns the
// temporary directory, the rootfs and the crun wrapper, and writes BENCHMARKS.md.
import { mkdirSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { podmanIn, unmountPodmanStorage } from "./podman.ts";
import { hidingUnified, timed } from "./timer.ts";

export interface LifecycleContext {
  box: string;
  tmp: string;
  rootfs: string;
  env: Record<string, string>;
  /** crun on this host needs the cgroup2 mount hidden (see the run benchmark's method). */
  crunWrapped: boolean;
  unified: string;
  writeBundle(dir: string, args: string[]): void;
  runs: number;
}

export interface LifecycleResult {
  exec: Record<"box" | "crun" | "runc" | "podman", number[]>;
  idle: { containers: number; pssKiB: number; perContainerKiB: number; processes: number };
  /** podman's conmon per idle container, measured the same way; undefined without podman. */
  podmanIdle?: { pssKiB: number; perContainerKiB: number; processes: number };
  fifty: Record<"box" | "crun", { start: number; remove: number }>;
}

export async function lifecycleBench(o: LifecycleContext): Promise<LifecycleResult> {
  const store = { root: join(o.tmp, "lc-box-root"), runroot: join(o.tmp, "lc-box-run") };
  const boxCmd = (...args: string[]) => [o.box, "--root", store.root, "--runroot", store.runroot, ...args];
  // Like crun's bundle and podman's --network none here: a network namespace with only lo.
  const boxRunD = (...args: string[]) => boxCmd("run", "-d", "--network", "none", ...args);
  const crunState = join(o.tmp, "lc-crun");
  const runcState = join(o.tmp, "lc-runc");
  const bundle = join(o.tmp, "lc-bundle");
  o.writeBundle(bundle, ["/bin/sleep", "100000"]);
  for (const d of [store.root, store.runroot, crunState, runcState]) mkdirSync(d, { recursive: true });
  const time = (rt: "crun" | "runc" | "box", inner: string[], env = o.env): number =>
    timed(inner, env, rt === "crun" && o.crunWrapped ? (script, args) => hidingUnified(o.unified, "bash", script, args) : undefined);
  const crun = (...args: string[]) => ["crun", "--root", crunState, ...args];
  const runc = (...args: string[]) => ["runc", "--root", runcState, ...args];
  // podman with --network none, as box here (bridge networking is compared in bench/network.ts).
  const { available: havePodman, dir: podmanDir, env: podmanEnv, command: podman } = podmanIn(join(o.tmp, "lc-podman"), o.env);
  // podman runs the runtime itself (runc): its timer needs no wrapper of its own.
  const timedPodman = (args: string[]) => time("runc", args, podmanEnv);

  // exec: one running container each, then interleaved `exec … /bin/true`.
  const boxId = Bun.spawnSync(boxRunD("--name", "lc-exec", "--rootfs", o.rootfs, "sleep", "100000"), { env: o.env, stdout: "pipe" }).stdout.toString().trim();
  if (!/^[0-9a-f]{64}$/.test(boxId)) throw new Error("box run -d for the exec benchmark failed");
  time("crun", crun("run", "-d", "--bundle", bundle, "lc-exec"));
  time("runc", runc("run", "-d", "--bundle", bundle, "lc-exec"));
  if (havePodman) timedPodman(podman("run", "-d", "--network", "none", "--name", "lc-exec", "--rootfs", o.rootfs, "sleep", "100000"));
  const exec = { box: [] as number[], crun: [] as number[], runc: [] as number[], podman: [] as number[] };
  for (let i = 0; i < o.runs + 3; i++) {
    const b = time("box", boxCmd("exec", "lc-exec", "/bin/true"));
    const c = time("crun", crun("exec", "lc-exec", "/bin/true"));
    const r = time("runc", runc("exec", "lc-exec", "/bin/true"));
    // podman's exec takes ~0.1 s: fewer runs of it.
    const p = havePodman && i < 23 ? timedPodman(podman("exec", "lc-exec", "/bin/true")) : undefined;
    if (i >= 3) {
      exec.box.push(b);
      exec.crun.push(c);
      exec.runc.push(r);
      if (p !== undefined) exec.podman.push(p);
    }
  }
  time("box", boxCmd("rm", "-f", "lc-exec"));
  time("crun", crun("delete", "-f", "lc-exec"));
  time("runc", runc("delete", "-f", "lc-exec"));
  if (havePodman) timedPodman(podman("rm", "-f", "-t", "0", "lc-exec"));

  // Memory held per idle detached container, 20 running: every box process of this store.
  const IDLE = 20;
  for (let i = 0; i < IDLE; i++) time("box", boxRunD("--name", `lc-idle-${i}`, "--rootfs", o.rootfs, "sleep", "100000"));
  await Bun.sleep(1000);
  const pids = boxProcesses(store.root);
  const pssKiB = pids.reduce((sum, pid) => sum + pss(pid), 0);
  const idle = { containers: IDLE, pssKiB, perContainerKiB: pssKiB / IDLE, processes: pids.length };
  time("box", boxCmd("rm", "-f", ...Array.from({ length: IDLE }, (_, i) => `lc-idle-${i}`)));
  let podmanIdle: LifecycleResult["podmanIdle"];
  if (havePodman) {
    for (let i = 0; i < IDLE; i++) timedPodman(podman("run", "-d", "--network", "none", "--name", `lc-idle-${i}`, "--rootfs", o.rootfs, "sleep", "100000"));
    await Bun.sleep(1000);
    // conmon: one per container, named after the container's directory under this run's root.
    const conmons = readdirSync("/proc").filter((e) => /^\d+$/.test(e)).map(Number).filter((pid) => {
      try {
        const cmd = readFileSync(`/proc/${pid}/cmdline`, "utf8");
        return cmd.startsWith("/usr/bin/conmon") && cmd.includes(podmanDir);
      } catch {
        return false;
      }
    });
    const kib = conmons.reduce((sum, pid) => sum + pss(pid), 0);
    podmanIdle = { pssKiB: kib, perContainerKiB: kib / IDLE, processes: conmons.length };
    timedPodman(podman("rm", "-af", "-t", "0"));
    // conmon's `podman container cleanup` may still be running after rm, and mounts the storage
    // again: let it finish first.
    await Bun.sleep(500);
    unmountPodmanStorage(podmanDir);
  }

  // 50 detached starts, then 50 removals (one command each, sequential, as a script does).
  const FIFTY = 50;
  const fifty = { box: { start: 0, remove: 0 }, crun: { start: 0, remove: 0 } };
  for (let i = 0; i < FIFTY; i++) fifty.box.start += time("box", boxRunD("--name", `lc-50-${i}`, "--rootfs", o.rootfs, "sleep", "100000"));
  for (let i = 0; i < FIFTY; i++) fifty.box.remove += time("box", boxCmd("rm", "-f", `lc-50-${i}`));
  for (let i = 0; i < FIFTY; i++) fifty.crun.start += time("crun", crun("run", "-d", "--bundle", bundle, `lc-50-${i}`));
  for (let i = 0; i < FIFTY; i++) fifty.crun.remove += time("crun", crun("delete", "-f", `lc-50-${i}`));
  return { exec, idle, podmanIdle, fifty };
}

function boxProcesses(root: string): number[] {
  const out: number[] = [];
  for (const p of readdirSync("/proc").filter((e) => /^\d+$/.test(e))) {
    try {
      if (readFileSync(`/proc/${p}/environ`, "utf8").split("\0").includes(`BOX_ROOT=${root}`)) out.push(Number(p));
    } catch {}
  }
  return out;
}

export function pss(pid: number): number {
  try {
    return Number(/^Pss:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, "utf8"))?.[1] ?? 0);
  } catch {
    return 0;
  }
}

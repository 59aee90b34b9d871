// box as an OCI runtime: `box oci run` of a bundle next to `crun run` and `runc run` of the same
// bundle (runc spec's, with the busybox rootfs, Docker's seccomp profile, /bin/true), and
// `docker run --runtime box` next to `--runtime runc` on a private dockerd (test/helpers/dockerd.ts).
// Called by bench/run.ts.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { startDockerd } from "../test/helpers/dockerd.ts";
import { hidingUnified, ms, stats, table, timed } from "./timer.ts";
import type { LifecycleContext } from "./lifecycle.ts";

/** What the lifecycle part gets, this part gets too. */
export type OciContext = LifecycleContext;

type BundleRuntime = "box oci" | "crun" | "runc";
type DockerRuntime = "docker --runtime box" | "docker --runtime runc";

export interface OciResult {
  bundle: Record<BundleRuntime, number[]>;
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
  const wrap = (rt: BundleRuntime) => (rt === "crun" && c.crunWrapped ? (script: string, args: string[]) => hidingUnified(c.unified, "bash", script, args) : undefined);
  const result: OciResult = { bundle: { "box oci": [], crun: [], runc: [] }, notes };
  for (let i = 0; i < WARMUP + c.runs; i++) {
    for (const rt of ["box oci", "crun", "runc"] as const) {
      const t = timed(argv(rt), c.env, wrap(rt));
      if (i >= WARMUP) result.bundle[rt].push(t);
    }
    await Bun.sleep(0);
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
  return `## box as an OCI runtime (bench/oci.ts)

One bundle (\`runc spec\`'s config with the busybox rootfs, Docker's default seccomp profile, no
terminal, \`/bin/true\`), run by each runtime's \`run\` verb, interleaved; each run creates,
starts, waits for and deletes its container.

${bundle}

The same runtimes behind a real client: a private dockerd 20.10 with its containerd (vfs storage,
\`--network none\`), \`docker run --rm --runtime box|runc busybox /bin/true\`, interleaved. This
is dominated by dockerd and containerd's shim; the runtime's share is the difference.

${docker}
${r.notes.length ? `\n${r.notes.map((n) => `- ${n}`).join("\n")}\n` : ""}`;
}

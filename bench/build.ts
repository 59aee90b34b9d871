// `box build` next to `buildah bud --layers` (Debian's buildah, runc) and `docker build` (Debian's
// docker.io: a private dockerd, its classic builder), the same Dockerfiles and contexts on the
// same base images, in one run: a cold build (no cache, the base images there) and a fully cached
// rebuild of a small busybox Dockerfile, a multi-stage one that compiles a C program with gcc in
// a Debian stage (made by debootstrap) and copies it into a busybox stage, and one with a large
// COPY context. Into BENCHMARKS.md ("Building images").
//
//   bun run build && bun bench/build.ts        (alone: rewrites only its own section)
//
// Environment: BUILD_RUNS (timed builds of each kind, default 3).
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BOX, OUT, runAlone } from "./sections.ts";
import { median, table } from "./timer.ts";
import { CACHE, debootstrapLayer } from "./images.ts";
import { unmountBelow } from "./podman.ts";
import { startDockerd, type Dockerd } from "../test/helpers/dockerd.ts";

const RUNS = Math.max(1, Number(process.env.BUILD_RUNS ?? 3));
const GCC_LAYER = join(CACHE, "debian-gcc-rootfs.tar");

type Tool = "box" | "buildah" | "docker";
const TOOLS: Tool[] = ["box", "buildah", "docker"];

interface Case {
  name: string;
  dockerfile: string;
  files: Record<string, string | Buffer>;
}

export interface BuildBenchResult {
  cases: Array<{ name: string; cold: Record<Tool, number | undefined>; cached: Record<Tool, number | undefined> }>;
  notes: string[];
}

function run(argv: string[], env?: Record<string, string>): string {
  const r = Bun.spawnSync(argv, { env, stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`${argv.join(" ")}: ${r.stderr.toString().slice(-2000)}`);
  return r.stdout.toString();
}

function time(argv: string[], env?: Record<string, string>): number {
  const t0 = performance.now();
  run(argv, env);
  return performance.now() - t0;
}

function cases(): Case[] {
  const big: Record<string, Buffer> = {};
  // 2,000 files of 50 KB: 100 MB of context.
  for (let i = 0; i < 2000; i++) big[`data/d${i % 20}/f${i}`] = Buffer.alloc(50_000, i % 251);
  return [
    {
      name: "small (busybox: RUN, COPY, config)",
      dockerfile: "FROM bench-busybox\nENV APP=/srv\nWORKDIR /srv\nRUN echo built > /srv/built && mkdir -p /srv/conf\nCOPY app.conf /srv/conf/\nLABEL bench=small\nCMD [\"cat\", \"/srv/built\"]\n",
      files: { "app.conf": "key=value\n" },
    },
    {
      name: "multi-stage (gcc in Debian, the binary into busybox)",
      dockerfile: "FROM bench-debian-gcc AS build\nCOPY hello.c /src/\nRUN gcc -O2 -static -o /hello /src/hello.c\nFROM bench-busybox\nCOPY --from=build /hello /usr/local/bin/hello\nCMD [\"hello\"]\n",
      files: { "hello.c": '#include <stdio.h>\nint main(void) { puts("hello"); return 0; }\n' },
    },
    {
      name: "large COPY context (2,000 files, 100 MB)",
      dockerfile: "FROM bench-busybox\nCOPY data /data\nRUN du -s /data\n",
      files: big,
    },
  ];
}

export async function buildBench(o: { box: string; tmp: string; rootfs: string }): Promise<BuildBenchResult> {
  const notes: string[] = [];
  const env = process.env as Record<string, string>;
  const busyboxTar = join(o.tmp, "busybox.tar");
  run(["tar", "-C", o.rootfs, "-cf", busyboxTar, "."]);
  const gccTar = debootstrapLayer(GCC_LAYER, ["gcc", "libc6-dev"], env);
  const storeArgs = ["--root", join(o.tmp, "box", "root"), "--runroot", join(o.tmp, "box", "run")];
  const buildahArgs = ["buildah", "--root", join(o.tmp, "buildah", "root"), "--runroot", join(o.tmp, "buildah", "run"), "--storage-driver", "overlay"];
  let docker: Dockerd | undefined;
  try {
    docker = await startDockerd([o.box]);
    // The same two base images in each tool's store.
    for (const [tar, name] of [[busyboxTar, "bench-busybox"], [gccTar, "bench-debian-gcc"]] as const) {
      run([o.box, ...storeArgs, "import", "-c", "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", tar, name]);
      run([...docker.docker, "import", "-c", "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", tar, name]);
      const c = run([...buildahArgs, "from", "scratch"]).trim();
      run([...buildahArgs, "add", c, tar, "/"]);
      run([...buildahArgs, "config", "--env", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", c]);
      run([...buildahArgs, "commit", "-q", c, name]);
      run([...buildahArgs, "rm", c]);
    }
    const build: Record<Tool, (ctx: string) => string[]> = {
      box: (ctx) => [o.box, ...storeArgs, "build", "-q", "--network", "none", "-t", "bench-out", ctx],
      buildah: (ctx) => [...buildahArgs, "bud", "--layers", "--quiet", "--network", "none", "--runtime", "/usr/bin/runc", "-t", "bench-out", ctx],
      docker: (ctx) => [...docker!.docker, "build", "-q", "--network", "none", "-t", "bench-out", ctx],
    };
    const forget: Record<Tool, () => void> = {
      box: () => {
        Bun.spawnSync([o.box, ...storeArgs, "rmi", "bench-out"]);
        run([o.box, ...storeArgs, "builder", "prune", "-f"]);
        run([o.box, ...storeArgs, "image", "prune", "-f"]);
      },
      buildah: () => {
        Bun.spawnSync([...buildahArgs, "rmi", "bench-out"]);
        Bun.spawnSync([...buildahArgs, "rmi", "--prune"]);
      },
      docker: () => {
        Bun.spawnSync([...docker!.docker, "rmi", "-f", "bench-out"]);
        Bun.spawnSync([...docker!.docker, "image", "prune", "-f"]);
      },
    };
    const dockerEnv = { ...env, DOCKER_BUILDKIT: "0" };
    const results: BuildBenchResult["cases"] = [];
    for (const [n, c] of cases().entries()) {
      const ctx = join(o.tmp, `ctx-${n}`);
      for (const [path, content] of Object.entries({ ...c.files, Dockerfile: c.dockerfile })) {
        mkdirSync(join(ctx, path, ".."), { recursive: true });
        writeFileSync(join(ctx, path), content);
      }
      const cold = {} as Record<Tool, number | undefined>;
      const cached = {} as Record<Tool, number | undefined>;
      for (const tool of TOOLS) {
        const toolEnv = tool === "docker" ? dockerEnv : env;
        try {
          const colds: number[] = [];
          for (let i = 0; i < RUNS; i++) {
            forget[tool]();
            colds.push(time(build[tool](ctx), toolEnv));
          }
          const warm: number[] = [];
          for (let i = 0; i < RUNS; i++) warm.push(time(build[tool](ctx), toolEnv));
          cold[tool] = median(colds);
          cached[tool] = median(warm);
          forget[tool]();
        } catch (e) {
          notes.push(`${tool}, ${c.name}: ${(e instanceof Error ? e.message : String(e)).split("\n")[0]!.slice(0, 300)}`);
        }
      }
      results.push({ name: c.name, cold, cached });
    }
    return { cases: results, notes };
  } finally {
    await docker?.stop();
    Bun.spawnSync([...buildahArgs, "rm", "--all"]);
    Bun.spawnSync([...buildahArgs, "rmi", "--all", "--force"]);
    unmountBelow(join(o.tmp, "buildah"));
    Bun.spawnSync([o.box, ...storeArgs, "system", "prune", "-f"]);
  }
}

export function buildSection(r: BuildBenchResult): string {
  const cell = (v: number | undefined) => (v === undefined ? "failed" : `${(v / 1000).toFixed(2)}`);
  const rows = r.cases.flatMap((c) => [
    [`${c.name}: cold`, ...TOOLS.map((t) => cell(c.cold[t]))],
    [`${c.name}: cached rebuild`, ...TOOLS.map((t) => cell(c.cached[t]))],
  ]);
  return `## Building images (bench/build.ts)

The same Dockerfiles and contexts through \`box build\`, \`buildah bud --layers\` (Debian's buildah 1.28,
runc) and \`docker build\` (Debian's docker.io 20.10, a private dockerd, its classic builder), on the
same base images imported into each; wall-clock seconds, the median of ${RUNS} builds each. Cold: no
build cache (the base images there); cached: the same build again, nothing changed. buildah stores
on overlay; the private dockerd on vfs (as the tests start it), which makes its every layer a full
copy (overlay2 would copy less).

${table(["", "box (s)", "buildah (s)", "docker (s)"], rows, ["l", "r", "r", "r"])}
${r.notes.length ? `\n${r.notes.map((n) => `- ${n}`).join("\n")}\n` : ""}`;
}

if (import.meta.main) await runAlone(OUT, "## Building images", async (o) => buildSection(await buildBench({ box: BOX, ...o })));

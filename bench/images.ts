// The image part of the benchmark: how fast a large layer (a Debian rootfs) is unpacked by GNU
// tar, umoci and `box import`, and what starting a container from an image (a new overlay each
// time) costs box next to podman. Called by bench/run.ts; alone, `bun bench/images.ts` runs only
// this part in a temporary directory of its own and prints its section of BENCHMARKS.md.
//
// Environment: BENCH_IMAGE_RUNS (unpacks per tool, default 5), BENCH_COLD_RUNS (starts per
// engine, default 30), BENCH_DEBIAN_MIRROR (default: the bookworm mirror of apt's sources).
// The layer is built once, with debootstrap, and kept in /var/cache/box-bench/debian-rootfs.tar.
import { createReadStream, existsSync, linkSync, copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { arch, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { busyboxRootfs } from "../test/helpers/rootfs.ts";
import { podmanIn, unmountBelow } from "./podman.ts";
import { benchEnv, ms, stats, table, timed, timedUsage, type Usage } from "./timer.ts";

export interface ImagesContext {
  box: string;
  tmp: string;
  /** The busybox rootfs of the other parts: the small image of the start benchmark. */
  rootfs: string;
  env: Record<string, string>;
}

type Unpacker = "tar" | "umoci" | "box";
type Start = "box image" | "podman image" | "box --rootfs";

export interface ImagesResult {
  layer: { bytes: number; entries: number; source: string };
  /** By the target's filesystem: the temporary directory's, and a tmpfs of the benchmark's own. */
  unpack: { fs: string; runs: Record<Unpacker, Usage[]> }[];
  start: Record<Start, number[]>;
  /** The filesystem type of `/` inside a container, by engine. */
  rootType: { box: string; podman?: string };
  podman: boolean;
  notes: string[];
}

const RUNS = Math.max(1, Number(process.env.BENCH_IMAGE_RUNS ?? 5));
const COLD_RUNS = Math.max(5, Number(process.env.BENCH_COLD_RUNS ?? 30));
const WARMUP = 3;
export const CACHE = "/var/cache/box-bench";
const DEBIAN_LAYER = join(CACHE, "debian-rootfs.tar");
/** Without debootstrap: this much of the host's /usr. */
const FALLBACK_BYTES = 300e6;
const LAYER_MEDIA_TYPE = "application/vnd.oci.image.layer.v1.tar";

function run(argv: string[], env: Record<string, string>): string {
  const r = Bun.spawnSync(argv, { env, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`${argv.join(" ")} exited ${r.exitCode}: ${r.stderr.toString().trim().slice(-2000)}`);
  return r.stdout.toString();
}

// ---------------------------------------------------------------- the layer

/** The Debian mirror apt uses here: the URI of the source whose suites include bookworm. */
function debianMirror(): string {
  if (process.env.BENCH_DEBIAN_MIRROR) return process.env.BENCH_DEBIAN_MIRROR;
  const dir = "/etc/apt/sources.list.d";
  const files = ["/etc/apt/sources.list", ...(existsSync(dir) ? readdirSync(dir).map((f) => join(dir, f)) : [])];
  for (const file of files) {
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch {
      continue;
    }
    // One-line form: deb [options] URI SUITE COMPONENT...
    const line = /^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+bookworm\s/m.exec(text);
    if (line) return line[1]!;
    // deb822 form: stanzas of Types/URIs/Suites.
    for (const stanza of text.split(/\n\s*\n/)) {
      const field = (name: string) => new RegExp(`^${name}:\\s*(.*)$`, "mi").exec(stanza)?.[1]?.trim().split(/\s+/) ?? [];
      if (field("Types").includes("deb") && field("Suites").includes("bookworm") && field("URIs")[0]) return field("URIs")[0]!;
    }
  }
  return "http://deb.debian.org/debian";
}

/**
 * The layer: a Debian bookworm minbase rootfs made by debootstrap, tarred, once (cached). Where
 * debootstrap cannot run, the first ~300 MB of the host's /usr instead, in `tmp`.
 */
function largeLayer(tmp: string, env: Record<string, string>, notes: string[]): { path: string; source: string } {
  const source = "Debian bookworm, `debootstrap --variant=minbase`";
  try {
    return { path: debootstrapLayer(DEBIAN_LAYER, [], env), source };
  } catch (e) {
    const why = e instanceof Error ? e.message.split("\n")[0] : String(e);
    notes.push(`debootstrap was not possible (${why}): the large layer is a tar of the first ${FALLBACK_BYTES / 1e6} MB of the host's /usr instead.`);
    return { path: hostUsrLayer(tmp, env), source: `the host's /usr, its first ${FALLBACK_BYTES / 1e6} MB` };
  }
}

/**
 * A Debian bookworm minbase rootfs (with the packages `include` names) made by debootstrap and
 * tarred into `tar` in /var/cache/box-bench, once: later runs take the file.
 */
export function debootstrapLayer(tar: string, include: string[], env: Record<string, string>): string {
  if (existsSync(tar)) return tar;
  mkdirSync(CACHE, { recursive: true });
  const build = join(CACHE, `build-${process.pid}`);
  try {
    if (!Bun.which("debootstrap")) throw new Error("debootstrap is not installed (apt-get install -y debootstrap)");
    const mirror = debianMirror();
    console.log(`bench: building ${tar} (once) with debootstrap from ${mirror}`);
    run(["debootstrap", "--variant=minbase", ...(include.length ? [`--include=${include.join(",")}`] : []), "bookworm", join(build, "rootfs"), mirror], env);
    run(["tar", "-C", join(build, "rootfs"), "-cf", join(build, "layer.tar"), "."], env);
    renameSync(join(build, "layer.tar"), tar);
    return tar;
  } finally {
    // debootstrap mounts /proc and /sys in the target while it works; a failed run can leave them.
    unmountBelow(build);
    rmSync(build, { recursive: true, force: true });
  }
}

/** A tar of /usr's entries, depth first, until FALLBACK_BYTES of files (symlinks not followed). */
function hostUsrLayer(tmp: string, env: Record<string, string>): string {
  const names: string[] = [];
  let bytes = 0;
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (bytes >= FALLBACK_BYTES) return;
      const path = join(dir, e.name);
      names.push(path.slice(1));
      if (e.isFile()) bytes += statSync(path).size;
      else if (e.isDirectory()) walk(path);
    }
  };
  walk("/usr");
  const list = join(tmp, "usr-layer.list");
  const out = join(tmp, "usr-layer.tar");
  writeFileSync(list, names.join("\n") + "\n");
  run(["tar", "-C", "/", "--no-recursion", "-cf", out, "-T", list], env);
  return out;
}

async function sha256File(path: string): Promise<string> {
  const h = new Bun.CryptoHasher("sha256");
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) h.update(chunk as Buffer);
  return h.digest("hex");
}

/**
 * An OCI image layout holding `layer` as its one uncompressed layer, tagged "bench", for umoci.
 * The blob is a hard link to the layer itself (a copy only across filesystems): one file, one
 * page cache for all three tools.
 */
function ociLayout(dir: string, layer: string, digest: string, size: number): string {
  const blobs = join(dir, "blobs", "sha256");
  mkdirSync(blobs, { recursive: true });
  try {
    linkSync(layer, join(blobs, digest));
  } catch {
    copyFileSync(layer, join(blobs, digest));
  }
  const blob = (mediaType: string, value: object) => {
    const text = JSON.stringify(value);
    const hex = new Bun.CryptoHasher("sha256").update(text).digest("hex");
    writeFileSync(join(blobs, hex), text);
    return { mediaType, digest: `sha256:${hex}`, size: Buffer.byteLength(text) };
  };
  const config = blob("application/vnd.oci.image.config.v1+json", {
    architecture: arch() === "x64" ? "amd64" : arch(),
    os: "linux",
    config: {},
    rootfs: { type: "layers", diff_ids: [`sha256:${digest}`] },
  });
  const manifest = blob("application/vnd.oci.image.manifest.v1+json", {
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    config,
    layers: [{ mediaType: LAYER_MEDIA_TYPE, digest: `sha256:${digest}`, size }],
  });
  writeFileSync(join(dir, "index.json"), JSON.stringify({ schemaVersion: 2, manifests: [{ ...manifest, annotations: { "org.opencontainers.image.ref.name": "bench" } }] }));
  writeFileSync(join(dir, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
  return `${dir}:bench`;
}

// ---------------------------------------------------------------- the benchmark

/** The filesystem type of `path` (absolute, without symlinks) by a /proc/self/mountinfo: its innermost mount's. */
function fsType(mountinfo: string, path: string): string {
  let best: { at: string; type: string } | undefined;
  for (const l of mountinfo.split("\n")) {
    const at = l.split(" ")[4];
    const type = l.split(" - ")[1]?.split(" ")[0];
    if (at === undefined || type === undefined || !(path === at || path.startsWith(at === "/" ? "/" : `${at}/`))) continue;
    if (!best || at.length >= best.at.length) best = { at, type };
  }
  return best?.type ?? "?";
}

/** Mount points below `dir` of type overlay. */
function overlaysBelow(dir: string): string[] {
  return readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .filter((l) => l.split(" - ")[1]?.startsWith("overlay ") && (l.split(" ")[4] ?? "").startsWith(`${dir}/`))
    .map((l) => l.split(" ")[4]!);
}

export async function imagesBench(o: ImagesContext): Promise<ImagesResult> {
  if (!Bun.which("umoci")) throw new Error("umoci not found (apt-get install umoci)");
  const dir = join(o.tmp, "images");
  mkdirSync(dir, { recursive: true });
  const { available: havePodman, env: podmanEnv, command } = podmanIn(join(dir, "podman"), o.env);
  // Its overlay driver, as box's images; podman's own default here may be another.
  const podman = (...args: string[]) => command("--storage-driver", "overlay", ...args);
  const notes: string[] = [];
  try {
    // 1: unpacking one large layer, each run into a new empty target.
    const layer = largeLayer(dir, o.env, notes);
    const bytes = statSync(layer.path).size;
    // The untimed read that warms the page cache, which also gives umoci's layout its digest.
    const digest = await sha256File(layer.path);
    const entries = run(["tar", "-tf", layer.path], o.env).split("\n").filter(Boolean).length;
    const image = ociLayout(join(dir, "oci"), layer.path, digest, bytes);
    // Targets on the temporary directory's filesystem and on a tmpfs: the second shows the tools'
    // own cost without the disk's (this machine's ext4 varies a lot from one run to the next).
    const memory = join(dir, "tmpfs");
    mkdirSync(memory);
    run(["mount", "-t", "tmpfs", "-o", "size=4g,mode=0700", "box-bench", memory], o.env);
    const targets = [join(dir, "disk"), memory].map((base) => ({ base, target: join(base, "unpack") }));
    const mounts = readFileSync("/proc/self/mountinfo", "utf8");
    const unpack: ImagesResult["unpack"] = targets.map((t) => ({ fs: fsType(mounts, t.base), runs: { tar: [], umoci: [], box: [] } }));
    for (let i = 0; i < RUNS; i++) {
      for (const [n, { base, target }] of targets.entries()) {
        const unpackers: [Unpacker, () => string[]][] = [
          ["tar", () => (mkdirSync(target), ["tar", "-xf", layer.path, "-C", target])],
          ["umoci", () => ["umoci", "unpack", "--image", image, target]],
          ["box", () => [o.box, "--root", join(target, "root"), "--runroot", join(target, "run"), "import", layer.path, "bench-layer"]],
        ];
        for (const [tool, argv] of unpackers) {
          // Untimed: the last run's tree goes, and its dirty pages are written out first.
          rmSync(target, { recursive: true, force: true });
          mkdirSync(base, { recursive: true });
          run(["sync", "-f", base], o.env);
          unpack[n]!.runs[tool].push(timedUsage(argv(), o.env));
          if (tool === "box" && !existsSync(join(target, "root", "layers", digest))) throw new Error(`box import stored no layer ${digest}`);
        }
        rmSync(target, { recursive: true, force: true });
      }
      console.log(`images: unpack runs ${i + 1}/${RUNS}`);
      await Bun.sleep(0); // lets a pending SIGINT/SIGTERM handler run (and clean up)
    }
    run(["umount", memory], o.env);

    // 2: starting a container from a one-layer image: a new overlay (upper dir, mount) each time.
    const tarball = join(dir, "busybox.tar");
    run(["tar", "-C", o.rootfs, "-cf", tarball, "."], o.env);
    const box = [o.box, "--root", join(dir, "start", "root"), "--runroot", join(dir, "start", "run")];
    run([...box, "import", tarball, "bench-busybox"], o.env);
    if (havePodman) run(podman("import", tarball, "bench-busybox"), podmanEnv);
    const mountinfo = ["cat", "/proc/self/mountinfo"];
    const types = {
      box: fsType(run([...box, "run", "--rm", "--network", "none", "bench-busybox", ...mountinfo], o.env), "/"),
      podman: havePodman ? fsType(run(podman("run", "--rm", "--network", "none", "bench-busybox", ...mountinfo), podmanEnv), "/") : undefined,
    };
    const starts: [Start, () => number][] = [
      ["box image", () => timed([...box, "run", "--rm", "--network", "none", "bench-busybox", "/bin/true"], o.env)],
      ["box --rootfs", () => timed([...box, "run", "--rm", "--network", "none", "--rootfs", o.rootfs, "/bin/true"], o.env)],
    ];
    if (havePodman) starts.push(["podman image", () => timed(podman("run", "--rm", "--network", "none", "bench-busybox", "/bin/true"), podmanEnv)]);
    const start: ImagesResult["start"] = { "box image": [], "podman image": [], "box --rootfs": [] };
    for (let i = 0; i < WARMUP + COLD_RUNS; i++) {
      for (const [name, f] of starts) {
        const t = f();
        if (i >= WARMUP) start[name].push(t);
      }
      await Bun.sleep(0);
    }
    const left = overlaysBelow(dir);
    if (left.length) notes.push(`overlay mounts left after the start runs: ${left.join(", ")}`);
    return { layer: { bytes, entries, source: layer.source }, unpack, start, rootType: types, podman: havePodman, notes };
  } finally {
    if (havePodman) Bun.spawnSync(podman("rm", "-af", "-t", "0"), { env: podmanEnv, stdout: "ignore", stderr: "ignore" });
    unmountBelow(dir);
    rmSync(dir, { recursive: true, force: true });
  }
}

export function imagesSection(r: ImagesResult): string {
  const mb = r.layer.bytes / 1e6;
  const label: Record<Unpacker, string> = {
    tar: "GNU tar `tar -xf L -C T`",
    umoci: "umoci `unpack --image LAYOUT:bench T`",
    box: "box `import L NAME` (new store)",
  };
  const unpackRows = r.unpack.flatMap(({ fs, runs }) =>
    (Object.keys(runs) as Unpacker[]).map((k) => {
      const t = stats(runs[k].map((u) => u.ms));
      const rss = stats(runs[k].map((u) => u.maxRssBytes / 2 ** 20));
      const cpu = stats(runs[k].map((u) => u.cpuMs));
      return [label[k], fs, ms(t.median / 1000, 2), ms(t.min / 1000, 2), ms(mb / (t.median / 1000), 0), ms(mb / (t.min / 1000), 0), ms(rss.median, 1), ms(cpu.median / 1000, 2), String(t.n)];
    }),
  );
  const startKeys = (Object.keys(r.start) as Start[]).filter((k) => r.start[k].length);
  const st = Object.fromEntries(startKeys.map((k) => [k, stats(r.start[k])])) as Record<Start, ReturnType<typeof stats>>;
  const startLabel: Record<Start, string> = {
    "box image": "box run --rm --network none IMAGE /bin/true",
    "podman image": "podman run --rm --network none IMAGE /bin/true",
    "box --rootfs": "*ref:* box run --rm --network none --rootfs DIR /bin/true (no overlay)",
  };
  const box = st["box image"];
  const pod = r.podman ? st["podman image"] : undefined;
  return `### Images: unpacking a large layer, and a container's start from an image

One layer, ${mb.toFixed(0)} MB (${r.layer.entries} entries): ${r.layer.source}, tarred with \`tar -C DIR -cf L .\`
(uncompressed). Each tool unpacks the same file into a new, empty target, ${r.unpack[0]!.runs.box.length} runs each, interleaved, on the
temporary directory's filesystem and on a tmpfs of the benchmark's own,
with the page cache warm (one untimed read first) and the last run's tree removed and the
filesystem synced (\`sync -f\`) before each run, untimed. umoci reads an OCI image layout whose one
layer is that file (a hard link of it, media type \`${LAYER_MEDIA_TYPE}\`, no compression); box
imports it into a new empty store each run: its streaming tar reader, the sha256 of the stream,
the checks against hostile archives, extraction into a temporary directory and a rename.
Time under the same bash timer as above; peak RSS from GNU time (\`%M\`) around the timer's shell
(the largest of the shell and the tool), CPU time (user + system) from getrusage, children included.

${table(["", "target", "median s", "min s", "MB/s (median)", "MB/s (best)", "peak RSS MiB", "CPU s", "n"], unpackRows, ["l", "l", "r", "r", "r", "r", "r", "r", "r"])}

- On the disk the time is mostly the kernel's (system CPU in ext4's file creation, about the
  same for every tool, and varying from one benchmark run to the next on this VM); the tmpfs rows
  show what each tool itself costs.
- GNU tar runs as root, so it keeps owners, like the others. umoci's time includes what its unpack
  does besides extracting: it writes the bundle's config.json and an mtree manifest of the whole
  rootfs (a walk and a sha256 of every file). box skips the rootfs's device nodes (containers get
  their own /dev); tar and umoci create them.

Starting a container from a one-layer image (both \`import\`ed from one tar of the busybox rootfs):
each run is a new container, with a new overlay (a new upper directory and mount) over the same
layer, removed at its end (\`--rm\`). podman runs with its own storage (\`--root\`, \`--runroot\` in
the temporary directory, \`--storage-driver overlay\`) and as in the lifecycle runs (runc,
cgroupfs, file events). Both with \`--network none\`. \`/\` inside a container: ${r.rootType.box} (box)${r.rootType.podman ? `, ${r.rootType.podman} (podman)` : ""}.
${WARMUP} warm-ups, then ${box.n} runs each, interleaved; ms.

${table(["", "median", "p10", "p90", "min", "max", "n"], startKeys.map((k) => [startLabel[k], ms(st[k].median), ms(st[k].p10), ms(st[k].p90), ms(st[k].min), ms(st[k].max), String(st[k].n)]), ["l", "r", "r", "r", "r", "r", "r"])}

- What the image's overlay adds to box's start (median image − median --rootfs): **${ms(box.median - st["box --rootfs"].median)} ms**.
${pod ? `- box / podman (medians), one-layer image: **${(box.median / pod.median).toFixed(2)}×** (${ms(box.median)} vs ${ms(pod.median)} ms).\n` : "- podman is not installed here.\n"}${r.notes.map((n) => `- ${n}\n`).join("")}`;
}

// ---------------------------------------------------------------- alone

if (import.meta.main) {
  const box = join(resolve(import.meta.dir, ".."), "dist/box");
  if (!existsSync(box)) throw new Error(`${box} missing: run \`bun run build\` first`);
  const tmp = mkdtempSync(join(tmpdir(), "box-bench-images-"));
  let cleaned = false;
  const cleanup = () => {
    if (cleaned) return;
    cleaned = true;
    unmountBelow(tmp);
    rmSync(tmp, { recursive: true, force: true });
  };
  const onSignal = () => {
    cleanup();
    process.exit(130);
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  try {
    const rootfs = busyboxRootfs(join(tmp, "rootfs"));
    console.log(`\n${imagesSection(await imagesBench({ box, tmp, rootfs, env: benchEnv() }))}`);
  } catch (e) {
    console.error(`bench failed: ${e instanceof Error ? e.message : String(e)}`);
    process.exitCode = 1;
  } finally {
    cleanup();
  }
}

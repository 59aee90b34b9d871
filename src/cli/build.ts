// `box build` (also `box image build`, `box buildx build`): a Dockerfile and its context into an
// image, as `docker build` (flags, output, exit codes: a failed build is 1, a bad flag 125), and
// `box builder prune` for its cache.
import { defineCommand } from "citty";
import { UserError } from "../container/errors.ts";
import { close, holdLock, isErrno, mkdirs, readFile, removeTree, stat, unlink, write, writeFileAtomic } from "../sys/fs.ts";
import { withInput } from "./input.ts";
import { randomHex } from "../random.ts";
import { isRootless } from "../sys/process.ts";
import { isTerminal } from "../sys/tty.ts";
import { Errno } from "../sys/errors.ts";
import { join, resolve } from "../path.ts";
import { globals } from "./context.ts";
import { parseFlags } from "./flags.ts";
import { defineFamily, printHelp } from "./help.ts";
import { confirmed, FORCE } from "./confirm.ts";
import { commaFields } from "./labels.ts";
import { hostPlatform } from "../image/media.ts";
import { parseReference } from "../image/reference.ts";
import { recordImageEvent } from "../container/events.ts";

const EXAMPLES = ["box build -t app .", "box build -f docker/Dockerfile --build-arg VERSION=1.2 -t app:1.2 .", "box build --target test --no-cache .", "box build -q -t app . > id"];

const BUILD_ARGS = {
  tag: { type: "string", alias: "t", description: "Name (and tag) of the image: NAME[:TAG]; more than once for several", valueHint: "NAME" },
  file: { type: "string", alias: "f", description: "The Dockerfile (default: CONTEXT/Dockerfile); - for standard input", valueHint: "PATH" },
  "build-arg": { type: "string", description: "A build argument: KEY=VALUE (KEY alone: the environment's value)", valueHint: "KEY=VALUE" },
  target: { type: "string", description: "The stage to build (default: the last)", valueHint: "STAGE" },
  "no-cache": { type: "boolean", description: "Use no cached step" },
  pull: { type: "boolean", description: "Pull the base images again" },
  network: { type: "string", description: "RUN's network: default (bridge; rootless: none), none or host", valueHint: "MODE" },
  label: { type: "string", description: "A label of the image: KEY=VALUE", valueHint: "KEY=VALUE" },
  platform: { type: "string", description: "The platform (only this machine's)", valueHint: "OS/ARCH" },
  progress: { type: "string", description: "Progress output: auto, plain, tty or quiet", valueHint: "TYPE" },
  quiet: { type: "boolean", alias: "q", description: "Show nothing but the image id at the end" },
  iidfile: { type: "string", description: "Write the image id to this file", valueHint: "FILE" },
  secret: { type: "string", description: "A secret for RUN --mount=type=secret: id=ID,src=FILE or id=ID,env=VARIABLE", valueHint: "id=ID,src=FILE" },
  output: { type: "string", alias: "o", description: "The image's files also to type=tar,dest=FILE|- or type=local,dest=DIR", valueHint: "type=tar,dest=F" },
  context: { type: "positional", description: "The build context: a directory, or - (a Dockerfile, or a context tar, on standard input)", required: false },
} as const;

const BUILD_LISTS = ["tag", "build-arg", "label", "secret", "output"];

export const buildCommand = defineCommand({
  meta: { name: "build", description: "Build an image from a Dockerfile" },
  args: BUILD_ARGS,
  async run({ rawArgs, cmd }) {
    const flags = parseFlags(rawArgs, cmd.args as never, BUILD_LISTS);
    if (flags.help) return printHelp(cmd, EXAMPLES);
    const request = buildRequest(flags.values, flags.positionals);
    const { store } = globals();
    await withContext(store.root, request, async (contextDir, dockerfile, dockerfilePath) => {
      const secrets = new Map<string, string>();
      // A secret from the environment goes in a file of the store's for the build's time only.
      const secretFiles: string[] = [];
      const [{ build }, { BuildContext, ignoreFile }, { plainProgress, ttyProgress }] = await Promise.all([import("../build/builder.ts"), import("../build/context.ts"), import("../build/progress.ts")]);
      let built;
      try {
        for (const s of request.secrets) {
          if (s.file) secrets.set(s.id, s.file);
          else {
            const file = join(store.root, "tmp", `secret-${randomHex(8)}`);
            mkdirs(join(store.root, "tmp"), 0o700);
            writeFileAtomic(file, s.value!, 0o600);
            secretFiles.push(file);
            secrets.set(s.id, file);
          }
        }
        built = await build({
          ...request.build,
          secrets,
          store,
          context: new BuildContext(contextDir, ignoreFile(contextDir, dockerfilePath)),
          dockerfile,
          progress: request.tty ? ttyProgress() : plainProgress(request.quiet),
          fetchImage: async (ref) => {
            const { pull } = await import("./pull.ts");
            await pull(ref, { quiet: request.quiet }, 2);
          },
        });
      } finally {
        for (const file of secretFiles) unlink(file);
      }
      const { record } = built;
      recordImageEvent(store.root, "build", `sha256:${record.id}`, request.build.tags[0] ? parseReference(request.build.tags[0]).ref : `sha256:${record.id}`);
      if (request.output) {
        const { exportBuild } = await import("../build/output.ts");
        await exportBuild(store.root, built.layerDirs, request.output);
      }
      if (request.iidfile) writeFileAtomic(resolve(request.iidfile), `sha256:${record.id}`, 0o644);
      if (request.quiet) write(1, `sha256:${record.id}\n`);
    });
  },
});

/** What `box build`'s flags ask for, checked once: every refusal before any work. */
interface BuildRequest {
  context: string;
  file?: string;
  quiet: boolean;
  /** Progress drawn for a terminal (--progress tty, or auto on one). */
  tty: boolean;
  iidfile?: string;
  output?: { type: "tar" | "local"; dest: string };
  secrets: { id: string; file?: string; value?: string }[];
  build: { tags: string[]; buildArgs: Map<string, string>; target?: string; noCache: boolean; pull: boolean; network: string; labels: Record<string, string> };
}

function buildRequest(v: Record<string, unknown>, positionals: string[]): BuildRequest {
  const list = (name: string) => (v[name] as string[] | undefined) ?? [];
  if (positionals.length !== 1) throw new UserError(`"box build" requires exactly 1 argument: the context directory, or - (a Dockerfile or a context tar on standard input)`);
  const context = positionals[0]!;
  if (context !== "-" && !isDirectory(resolve(context))) throw new UserError(`unable to prepare context: path "${context}" not found`);
  if (context === "-" && v.file === "-") throw new UserError("box build: the context and the Dockerfile cannot both come from standard input");
  const platform = v.platform as string | undefined;
  const host = hostPlatform();
  if (platform !== undefined && platform !== `${host.os}/${host.architecture}` && platform !== host.architecture) {
    throw new UserError(`box build --platform ${platform}: box builds for this machine only (${host.os}/${host.architecture})`);
  }
  const progress = (v.progress as string | undefined) ?? "auto";
  if (!["auto", "plain", "tty", "quiet"].includes(progress)) throw new UserError(`invalid --progress "${progress}": use auto, plain, tty or quiet`);
  const network = (v.network as string | undefined) ?? "default";
  if (!["default", "bridge", "none", "host"].includes(network)) throw new UserError(`invalid --network "${network}": use default, none or host`);
  const tags = list("tag");
  for (const t of tags) if (parseReference(t).digest) throw new UserError(`invalid tag "${t}": a tag cannot hold a digest`);
  const buildArgs = new Map<string, string>();
  for (const a of list("build-arg")) {
    const eq = a.indexOf("=");
    if (eq === 0) throw new UserError(`invalid --build-arg "${a}": KEY=VALUE`);
    if (eq > 0) buildArgs.set(a.slice(0, eq), a.slice(eq + 1));
    else if (process.env[a] !== undefined) buildArgs.set(a, process.env[a]!);
  }
  const labels: Record<string, string> = {};
  for (const l of list("label")) {
    const eq = l.indexOf("=");
    if (eq <= 0) throw new UserError(`invalid --label "${l}": KEY=VALUE`);
    labels[l.slice(0, eq)] = l.slice(eq + 1);
  }
  return {
    context,
    ...(v.file === undefined ? {} : { file: v.file as string }),
    quiet: v.quiet === true || progress === "quiet",
    tty: v.quiet !== true && (progress === "tty" || (progress === "auto" && isTerminal(2))),
    ...(v.iidfile === undefined ? {} : { iidfile: v.iidfile as string }),
    ...outputOf(list("output")),
    secrets: list("secret").map(secretOf),
    build: { tags, buildArgs, target: v.target as string | undefined, noCache: v["no-cache"] === true, pull: v.pull === true, network: network !== "default" ? network : isRootless() ? "none" : "bridge", labels },
  };
}

/** -o type=tar,dest=FILE|- or type=local,dest=DIR (the image's files); type=image|docker: the store (always). */
function outputOf(outputs: string[]): Pick<BuildRequest, "output"> {
  if (outputs.length > 1) throw new UserError("box build: one --output at a time");
  if (!outputs.length) return {};
  const text = outputs[0]!;
  // A bare word is the destination (`-o ./out`).
  const f = new Map(commaFields(text).map(([k, v]) => (v === undefined ? ["dest", k] : [k, v])));
  const type = f.get("type") ?? (f.get("dest") === "-" ? "tar" : "local");
  if (type === "image" || type === "docker") return {};
  const dest = f.get("dest");
  if ((type !== "tar" && type !== "local") || !dest) throw new UserError(`invalid --output "${text}": type=tar,dest=FILE|- or type=local,dest=DIR`);
  return { output: { type, dest } };
}

function secretOf(text: string): BuildRequest["secrets"][number] {
  const f = new Map(commaFields(text).map(([k, v]) => [k, v ?? k]));
  const id = f.get("id");
  const src = f.get("src") ?? f.get("source");
  const env = f.get("env") ?? (f.get("type") === "env" ? id : undefined);
  if (!id || (!src && !env)) throw new UserError(`invalid --secret "${text}": id=ID,src=FILE or id=ID,env=VARIABLE`);
  if (src) {
    if (!isFile(resolve(src))) throw new UserError(`invalid --secret "${text}": ${src} is not a file`);
    return { id, file: resolve(src) };
  }
  const value = process.env[env!];
  if (value === undefined) throw new UserError(`invalid --secret "${text}": the environment has no ${env}`);
  return { id, value };
}

/**
 * The context directory and the Dockerfile's text: a directory of the host, or standard input (a
 * tar archive: the context, unpacked into the store for the build's time; anything else: the
 * Dockerfile, with an empty context).
 */
async function withContext(root: string, r: BuildRequest, use: (dir: string, dockerfile: string, dockerfilePath?: string) => Promise<void>): Promise<void> {
  const readDockerfile = async (path: string | undefined, shown: string) => {
    try {
      return path === undefined ? await Bun.stdin.text() : readFile(path);
    } catch (e) {
      if (isErrno(e, Errno.ENOENT)) throw new UserError(`failed to read dockerfile: open ${shown}: no such file or directory`);
      throw e;
    }
  };
  if (r.context !== "-") {
    const dir = resolve(r.context);
    const path = r.file === "-" ? undefined : r.file === undefined ? join(dir, "Dockerfile") : resolve(r.file);
    return use(dir, await readDockerfile(path, r.file ?? "Dockerfile"), path);
  }
  await withInput(root, undefined, "build", async (spooled) => {
    const dir = join(root, "tmp", `context-${randomHex(8)}`);
    mkdirs(dir, 0o700);
    const lock = holdLock(dir);
    try {
      const { extractInto, isTarArchive } = await import("../build/archive.ts");
      if (!(await isTarArchive(spooled))) return await use(dir, readFile(spooled));
      await extractInto(spooled, dir, root);
      const path = join(dir, r.file ?? "Dockerfile");
      await use(dir, await readDockerfile(path, r.file ?? "Dockerfile"), path);
    } finally {
      removeTree(dir);
      close(lock);
    }
  });
}

function isFile(path: string): boolean {
  try {
    return stat(path).isFile();
  } catch {
    return false;
  }
}

function isDirectory(path: string): boolean {
  try {
    return stat(path).isDirectory();
  } catch {
    return false;
  }
}

const pruneCommand = defineCommand({
  meta: { name: "builder prune", description: "Remove the build cache" },
  args: {
    all: { type: "boolean", alias: "a", description: "Everything (box's cache has no shared part: the same as without)" },
    ...FORCE,
  },
  async run({ rawArgs, cmd }) {
    const flags = parseFlags(rawArgs, cmd.args as never, []);
    if (flags.help) return printHelp(cmd, ["box builder prune -f"]);
    if (!confirmed(flags.values.force, "box builder prune", "all build cache")) return;
    const { pruneCache } = await import("../build/cache.ts");
    const n = pruneCache(globals().store.root);
    write(1, `Deleted build cache objects: ${n}\n`);
  },
});

export const builderCommand = defineFamily({ name: "builder", description: "Manage the build cache" }, async () => ({ prune: pruneCommand }), ["box builder prune -f"]);

export const buildxCommand = defineFamily({ name: "buildx", description: "Docker Buildx's build, as box build" }, async () => ({ build: buildCommand }), ["box buildx build -t app ."]);

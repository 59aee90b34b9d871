// `box build` (also `box image build`, `box buildx build`): a Dockerfile and its context into an
// image, as `docker build` (flags, output, exit codes: a failed build is 1, a bad flag 125), and
// `box builder prune` for its cache.
import { defineCommand } from "citty";
import { UserError } from "../container/errors.ts";
import { isErrno, readFile, stat, write, writeFileAtomic } from "../sys/fs.ts";
import { Errno } from "../sys/errors.ts";
import { join, resolve } from "../path.ts";
import { globals } from "./context.ts";
import { parseFlags } from "./flags.ts";
import { defineFamily, printHelp } from "./help.ts";
import { confirmed, FORCE } from "./confirm.ts";
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
  network: { type: "string", description: "RUN's network: default (bridge), none or host", valueHint: "MODE" },
  label: { type: "string", description: "A label of the image: KEY=VALUE", valueHint: "KEY=VALUE" },
  platform: { type: "string", description: "The platform (only this machine's)", valueHint: "OS/ARCH" },
  progress: { type: "string", description: "Progress output: auto, plain, tty or quiet", valueHint: "TYPE" },
  quiet: { type: "boolean", alias: "q", description: "Show nothing but the image id at the end" },
  iidfile: { type: "string", description: "Write the image id to this file", valueHint: "FILE" },
  secret: { type: "string", description: "A secret for RUN --mount=type=secret (not yet)", valueHint: "id=ID,src=PATH" },
  output: { type: "string", alias: "o", description: "Where the result goes (not yet: the store only)", valueHint: "type=..." },
  context: { type: "positional", description: "The build context: a directory", required: false },
} as const;

const BUILD_LISTS = ["tag", "build-arg", "label", "secret", "output"];

export const buildCommand = defineCommand({
  meta: { name: "build", description: "Build an image from a Dockerfile" },
  args: BUILD_ARGS,
  async run({ rawArgs, cmd }) {
    const flags = parseFlags(rawArgs, cmd.args as never, BUILD_LISTS);
    if (flags.help) return printHelp(cmd, EXAMPLES);
    const v = flags.values;
    const list = (name: string) => (v[name] as string[] | undefined) ?? [];
    if (flags.positionals.length !== 1) throw new UserError(`"box build" requires exactly 1 argument: the context directory`);
    const contextArg = flags.positionals[0]!;
    if (contextArg === "-") throw new UserError("box build: a context from standard input is not supported yet: give a directory (and -f - for a Dockerfile on standard input)");
    const contextDir = resolve(contextArg);
    if (!isDirectory(contextDir)) throw new UserError(`unable to prepare context: path "${contextArg}" not found`);
    if (list("secret").length) throw new UserError("box build --secret is not supported yet");
    if (list("output").length) throw new UserError("box build --output is not supported yet: the image goes to box's store");
    const platform = v.platform as string | undefined;
    const host = hostPlatform();
    if (platform !== undefined && platform !== `${host.os}/${host.architecture}` && platform !== host.architecture) {
      throw new UserError(`box build --platform ${platform}: box builds for this machine only (${host.os}/${host.architecture})`);
    }
    const progressMode = (v.progress as string | undefined) ?? "auto";
    if (!["auto", "plain", "tty", "quiet", "rawjson"].includes(progressMode)) throw new UserError(`invalid --progress "${progressMode}": use auto, plain, tty or quiet`);
    const network = (v.network as string | undefined) ?? "default";
    if (!["default", "bridge", "none", "host"].includes(network)) throw new UserError(`invalid --network "${network}": use default, none or host`);
    const tags = list("tag");
    for (const t of tags) {
      const ref = parseReference(t);
      if (ref.digest) throw new UserError(`invalid tag "${t}": a tag cannot hold a digest`);
    }
    const buildArgs = new Map<string, string>();
    for (const a of list("build-arg")) {
      const eq = a.indexOf("=");
      if (eq === 0) throw new UserError(`invalid --build-arg "${a}": KEY=VALUE`);
      if (eq < 0) {
        if (process.env[a] !== undefined) buildArgs.set(a, process.env[a]!);
      } else buildArgs.set(a.slice(0, eq), a.slice(eq + 1));
    }
    const labels: Record<string, string> = {};
    for (const l of list("label")) {
      const eq = l.indexOf("=");
      if (eq <= 0) throw new UserError(`invalid --label "${l}": KEY=VALUE`);
      labels[l.slice(0, eq)] = l.slice(eq + 1);
    }
    const fileArg = v.file as string | undefined;
    const dockerfilePath = fileArg === "-" ? undefined : fileArg === undefined ? join(contextDir, "Dockerfile") : resolve(fileArg);
    let dockerfile: string;
    try {
      dockerfile = dockerfilePath === undefined ? await Bun.stdin.text() : readFile(dockerfilePath);
    } catch (e) {
      if (isErrno(e, Errno.ENOENT)) throw new UserError(`failed to read dockerfile: open ${fileArg ?? "Dockerfile"}: no such file or directory`);
      throw e;
    }
    const quiet = v.quiet === true || progressMode === "quiet";
    const { store } = globals();
    const [{ build }, { BuildContext, ignoreFile }, { plainProgress }] = await Promise.all([import("../build/builder.ts"), import("../build/context.ts"), import("../build/progress.ts")]);
    const record = await build({
      store,
      context: new BuildContext(contextDir, ignoreFile(contextDir, dockerfilePath)),
      dockerfile,
      tags,
      buildArgs,
      target: v.target as string | undefined,
      noCache: v["no-cache"] === true,
      pull: v.pull === true,
      network: network === "default" ? "bridge" : network,
      labels,
      progress: plainProgress(quiet),
      fetchImage: async (ref) => {
        const { pull } = await import("./pull.ts");
        await pull(ref, { quiet }, 2);
      },
    });
    recordImageEvent(store.root, "build", `sha256:${record.id}`, tags[0] ? parseReference(tags[0]).ref : `sha256:${record.id}`);
    const iidfile = v.iidfile as string | undefined;
    if (iidfile) writeFileAtomic(resolve(iidfile), `sha256:${record.id}`, 0o644);
    if (quiet) write(1, `sha256:${record.id}\n`);
  },
});

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

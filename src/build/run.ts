// RUN: the command in a box container of the stage so far (its layers, environment, user,
// working directory and shell), made through `box run`'s own path (its flags → one validated
// spec → the engine), its output shown under the step; its upper directory becomes the layer.
import { join } from "../path.ts";
import { close, open, removeTree } from "../sys/fs.ts";
import { O_RDONLY } from "../sys/constants.ts";
import { memoryFile, pipe } from "../sys/process.ts";
import { randomHex } from "../random.ts";
import { parseFlags } from "../cli/flags.ts";
import { RUN_ARGS, RUN_LISTS } from "../cli/run.ts";
import { buildRunSpec } from "../cli/run-spec.ts";
import { createContainer, removeContainer } from "../container/create.ts";
import { runAttached } from "../container/start.ts";
import { abandonInit, launchInit } from "../container/launch.ts";
import { layerFromDir } from "../image/commit.ts";
import { execForm, type Instruction } from "./dockerfile.ts";
import { LayerView } from "./layer-view.ts";
import { copyFromContext, copyFromLayers } from "./copy.ts";
import { makeCaches, removeMountPoints, type RunMounts } from "./mounts.ts";
import { BuildError } from "./errors.ts";
import { layerDirs, type BuildOptions, type BuildState, type Layer } from "./builder.ts";

/** The command RUN runs: a JSON array as it is; else the text (or a heredoc script) under the shell. */
export function runCommand(i: Instruction, shell: string[]): { argv: string[]; stdin?: string } {
  const script = i.heredocs[0];
  const marker = /<<-?(["']?)[A-Za-z_][A-Za-z0-9_]*\1/;
  // `RUN <<EOF` alone: the body is the script; `RUN python3 <<EOF`: the body is the command's input.
  if (script && i.args.trim().replace(marker, "") === "") return { argv: [...shell, script.body] };
  if (script) return { argv: [...shell, i.args.replace(marker, "").trim()], stdin: script.body };
  const exec = execForm(i);
  return { argv: exec?.length ? exec : [...shell, i.args] };
}

export async function runStep(o: BuildOptions, state: BuildState, i: Instruction, env: string[], shell: string[], mounts: RunMounts, log: (line: string) => void): Promise<{ layer: Layer; createdBy: string }> {
  for (const flag of i.flags.keys()) if (flag !== "network" && flag !== "mount") throw new BuildError(`dockerfile line ${i.line}: RUN --${flag} is not supported by box build yet`);
  if (!state.layers.length) throw new BuildError(`dockerfile line ${i.line}: RUN in a stage without files (FROM scratch): there is no shell to run it`);
  const { argv, stdin } = runCommand(i, shell);
  const network = i.flags.get("network")?.at(-1) ?? o.network;
  const net = network === "default" ? o.network : network;
  if (!["bridge", "none", "host"].includes(net)) throw new BuildError(`dockerfile line ${i.line}: RUN --network=${network}: use default, none or host`);
  makeCaches(mounts);
  const locks: number[] = [];
  try {
    for (const c of mounts.copies) locks.push("context" in c ? copyFromContext(o, c.context, c.dir) : copyFromLayers(c.layers, c.path, c.dir, i));
    return await runIn(o, state, env, argv, stdin, net, mounts, log);
  } finally {
    for (const c of mounts.copies) removeTree(c.dir);
    for (const lock of locks) close(lock);
  }
}

async function runIn(o: BuildOptions, state: BuildState, env: string[], argv: string[], stdin: string | undefined, net: string, mounts: RunMounts, log: (line: string) => void): Promise<{ layer: Layer; createdBy: string }> {
  const store = o.store;
  const flags = parseFlags(
    [
      "--name", `box-build-${randomHex(6)}`, "--network", net, "--entrypoint", "", "--log-driver", "none",
      "-w", state.config.WorkingDir || "/", ...(state.config.User ? ["-u", state.config.User] : []),
      ...[...env, ...mounts.env].flatMap((e) => ["-e", e]), ...mounts.flags, "box-build", ...argv,
    ],
    RUN_ARGS as never,
    RUN_LISTS,
  );
  const spec = buildRunSpec(store, flags, {}, { ref: "box-build", id: state.key, layerDirs: layerDirs(store.root, state), config: {} });
  const [outRead, outWrite] = pipe();
  const input = stdin === undefined ? open("/dev/null", O_RDONLY) : stdinFile(stdin);
  let init;
  try {
    init = launchInit(store, undefined, undefined, [input, outWrite, outWrite]);
  } finally {
    close(outWrite);
    close(input);
  }
  const output = showOutput(outRead, log);
  let created;
  try {
    created = createContainer(store, spec);
  } catch (e) {
    abandonInit(init);
    throw e;
  }
  const { paths, unlock } = created;
  try {
    const code = await runAttached(init, store, spec, paths, { started: unlock });
    await output;
    if (code !== 0) throw new BuildError(`process "${argv.join(" ")}" did not complete successfully: exit code: ${code}`);
    removeMountPoints(join(paths.dir, "upper"), mounts.targets, new LayerView(layerDirs(store.root, state)));
    const layer = await layerFromDir(store.root, join(paths.dir, "upper"));
    const used = env.filter((e) => !state.config.Env?.includes(e));
    const createdBy = `${used.length ? `|${used.length} ${used.join(" ")} ` : ""}${argv.join(" ")}`;
    return { layer: { diffId: layer.diffId, blob: layer.blob, size: layer.size }, createdBy };
  } finally {
    unlock();
    removeContainer(store, spec, paths, true);
  }
}

/** Every line the container writes, to the step's log; resolves at EOF (the container is gone). */
async function showOutput(fd: number, log: (line: string) => void): Promise<void> {
  const reader = Bun.file(fd).stream().getReader();
  let text = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    text += new TextDecoder().decode(value);
    for (let nl = text.indexOf("\n"); nl >= 0; nl = text.indexOf("\n")) {
      log(text.slice(0, nl));
      text = text.slice(nl + 1);
    }
  }
  if (text) log(text);
}

/** A heredoc given to the command on its stdin: a sealed memory file, read from its start. */
function stdinFile(body: string): number {
  const memfd = memoryFile("box-build-stdin", Buffer.from(body));
  try {
    return open(`/proc/self/fd/${memfd}`, O_RDONLY);
  } finally {
    close(memfd);
  }
}

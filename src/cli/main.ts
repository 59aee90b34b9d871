// The root command: global flags (store roots), dispatch, and turning errors into one line
// and an exit code.
import { defineCommand, runCommand, type CommandDef } from "citty";
import { EXIT_BOX_ERROR, UserError } from "../container/errors.ts";
import { defaultStore } from "../container/store.ts";
import { describeError } from "../sys/errors.ts";
import { setGlobals } from "./context.ts";
import { parseFlags } from "./flags.ts";
import { printHelp, resolve } from "./help.ts";
import { VERSION } from "../version.ts";

export const rootCommand = defineCommand({
  meta: { name: "box", version: VERSION, description: "A daemonless container engine in one executable" },
  args: {
    root: { type: "string", description: "Persistent state (images, containers); env BOX_ROOT", default: "/var/lib/box", valueHint: "DIR" },
    runroot: { type: "string", description: "Runtime state; env BOX_RUNROOT", default: "/run/box", valueHint: "DIR" },
    version: { type: "boolean", description: "Print the version" },
  },
  // Loaded on use: every start of box pays only for the command it runs.
  subCommands: {
    run: () => import("./run.ts").then((m) => m.runCommand),
    rm: () => import("./rm.ts").then((m) => m.rmCommand),
    import: () => import("./import.ts").then((m) => m.importCommand),
    build: () => import("./build.ts").then((m) => m.buildCommand),
    builder: () => import("./build.ts").then((m) => m.builderCommand),
    buildx: () => import("./build.ts").then((m) => m.buildxCommand),
    images: () => import("./images.ts").then((m) => m.imagesCommand),
    rmi: () => import("./images.ts").then((m) => m.rmiCommand),
    tag: () => import("./images.ts").then((m) => m.tagCommand),
    history: () => import("./images.ts").then((m) => m.historyCommand),
    image: () => import("./images.ts").then((m) => m.imageCommand),
    pull: () => import("./pull.ts").then((m) => m.pullCommand),
    push: () => import("./pull.ts").then((m) => m.pushCommand),
    login: () => import("./login.ts").then((m) => m.loginCommand),
    logout: () => import("./login.ts").then((m) => m.logoutCommand),
    load: () => import("./archive.ts").then((m) => m.loadCommand),
    save: () => import("./archive.ts").then((m) => m.saveCommand),
    export: () => import("./archive.ts").then((m) => m.exportCommand),
    commit: () => import("./archive.ts").then((m) => m.commitCommand),
    pause: () => import("./pause.ts").then((m) => m.pauseCommand),
    unpause: () => import("./pause.ts").then((m) => m.unpauseCommand),
    update: () => import("./update.ts").then((m) => m.updateCommand),
    info: () => import("./info.ts").then((m) => m.infoCommand),
    version: () => import("./version.ts").then((m) => m.versionCommand),
    stats: () => import("./stats.ts").then((m) => m.statsCommand),
    ps: () => import("./ps.ts").then((m) => m.psCommand),
    logs: () => import("./logs.ts").then((m) => m.logsCommand),
    attach: () => import("./attach.ts").then((m) => m.attachCommand),
    stop: () => import("./control.ts").then((m) => m.stopCommand),
    kill: () => import("./control.ts").then((m) => m.killCommand),
    wait: () => import("./control.ts").then((m) => m.waitCommand),
    inspect: () => import("./inspect.ts").then((m) => m.inspectCommand),
    exec: () => import("./exec.ts").then((m) => m.execCommand),
    create: () => import("./run.ts").then((m) => m.createCommand),
    start: () => import("./start.ts").then((m) => m.startCommand),
    restart: () => import("./start.ts").then((m) => m.restartCommand),
    rename: () => import("./manage.ts").then((m) => m.renameCommand),
    top: () => import("./manage.ts").then((m) => m.topCommand),
    container: () => import("./manage.ts").then((m) => m.containerCommand),
    cp: () => import("./cp.ts").then((m) => m.cpCommand),
    diff: () => import("./diff.ts").then((m) => m.diffCommand),
    completion: () => import("./completion.ts").then((m) => m.completionCommand),
    network: () => import("./network.ts").then((m) => m.networkCommand),
    volume: () => import("./volume.ts").then((m) => m.volumeCommand),
    healthcheck: () => import("./healthcheck.ts").then((m) => m.healthcheckCommand),
    port: () => import("./network.ts").then((m) => m.portCommand),
    system: () => import("./manage.ts").then((m) => m.systemCommand),
    generate: () => import("./generate.ts").then((m) => m.generateCommand),
    events: () => import("./events.ts").then((m) => m.eventsCommand),
    oci: () => import("./oci.ts").then((m) => m.ociCommand),
  },
});

type Loader = () => Promise<CommandDef<any>>;

/** The top-level commands under other names: `box container ls` is `box ps` (`{ ls: "ps" }`). */
export function topLevel(names: Record<string, string>): Record<string, Loader> {
  const table = rootCommand.subCommands as Record<string, Loader>;
  return Object.fromEntries(Object.entries(names).map(([name, top]) => [name, table[top]!]));
}

/** The command the words name, down through families (`container ls`), and the words after it. */
async function findCommand(words: string[]): Promise<[CommandDef<any>, string[]]> {
  let command: CommandDef<any> = rootCommand;
  let path = "box";
  for (;;) {
    const table = await resolve(command.subCommands);
    const [word, ...rest] = words;
    if (!table || word === undefined || word.startsWith("-")) return [command, words];
    if (!Object.hasOwn(table, word)) throw new UserError(`unknown command "${word}" for "${path}"; see '${path} --help'`);
    command = (await resolve(table[word]))!;
    path += ` ${word}`;
    words = rest;
  }
}

export async function runCli(argv: string[]): Promise<void> {
  try {
    const global = parseFlags(argv, rootCommand.args as never);
    const env = defaultStore();
    const store = {
      root: (global.values.root as string | undefined) ?? env.root,
      // Rootless without a home: the runtime state goes beside the store --root names.
      runroot: (global.values.runroot as string | undefined) ?? (env.runroot || (global.values.root ? `${global.values.root as string}/run` : "")),
    };
    if (!store.root || !store.runroot) throw new UserError("rootless: set HOME, XDG_DATA_HOME or BOX_ROOT (or give --root): box keeps your containers and images there");
    for (const [flag, dir] of [["--root", store.root], ["--runroot", store.runroot]] as const) {
      // overlayfs takes its layer paths in one option string, separated by ',' and ':'.
      if (/[,:\s]/.test(dir)) throw new UserError(`${flag} ${dir}: the path must not contain ',', ':' or spaces`);
    }
    setGlobals({ store });
    if (global.values.version) {
      process.stdout.write(`box version ${VERSION}\n`);
      return;
    }
    if (global.positionals.length === 0) {
      await printHelp(rootCommand, ["box run --rm --rootfs ./rootfs /bin/echo hello", "box --root /tmp/box import rootfs.tar busybox"], null);
      if (!global.help) process.exitCode = EXIT_BOX_ERROR;
      return;
    }
    const [command, rest] = await findCommand(global.positionals);
    // findCommand went down the families: citty is not to look for a subcommand again.
    await runCommand({ ...command, subCommands: undefined }, { rawArgs: global.help ? [...rest, "--help"] : rest });
  } catch (e) {
    process.stderr.write(`box: ${e instanceof UserError ? e.message : describeError(e)}\n`);
    process.exitCode = e instanceof UserError ? e.exitCode : EXIT_BOX_ERROR;
  }
}

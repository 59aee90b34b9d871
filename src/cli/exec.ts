import { defineCommand } from "citty";
import { UserError } from "../container/errors.ts";
import { findContainer } from "../container/lookup.ts";
import { execInContainer } from "../container/exec.ts";
import { parseEnvEntry, readEnvFile } from "../container/env.ts";
import { exitNow } from "../sys/process.ts";
import { isTerminal } from "../sys/tty.ts";
import { globals } from "./context.ts";
import { parseFlags } from "./flags.ts";
import { printHelp } from "./help.ts";
import { workdirProblem } from "../container/workdir.ts";

export const execCommand = defineCommand({
  meta: { name: "exec", description: "Run a command in a running container" },
  args: {
    interactive: { type: "boolean", alias: "i", description: "Keep STDIN open" },
    tty: { type: "boolean", alias: "t", description: "Allocate a pseudo-TTY" },
    detach: { type: "boolean", alias: "d", description: "Run the command in the background" },
    env: { type: "string", alias: "e", description: "Set an environment variable", valueHint: "KEY=VALUE" },
    "env-file": { type: "string", description: "Read environment variables from a file", valueHint: "FILE" },
    user: { type: "string", alias: "u", description: "User: name|uid[:group|gid] (default: the container's)", valueHint: "USER" },
    workdir: { type: "string", alias: "w", description: "Working directory inside the container", valueHint: "DIR" },
    container: { type: "positional", description: "Container name or id (prefix)", required: false },
    command: { type: "positional", description: "Command and its arguments", required: false, valueHint: "ARG..." },
  },
  async run({ rawArgs, cmd }) {
    const flags = parseFlags(rawArgs, cmd.args as never, ["env", "env-file"]);
    if (flags.help) return printHelp(cmd, ["box exec web ps", "box exec -it web sh", "box exec -u nobody -w /tmp -e DEBUG=1 web env"]);
    const [ref, ...command] = flags.positionals;
    if (ref === undefined || command.length === 0) throw new UserError(`"box exec" requires a container and a command; see 'box exec --help'`);
    const v = flags.values;
    if (v.tty && v.interactive && !isTerminal(0)) throw new UserError("the input device is not a TTY");
    const workdir = v.workdir as string | undefined;
    const badWorkdir = workdir === undefined ? undefined : workdirProblem(workdir);
    if (badWorkdir) throw new UserError(`the working directory "${workdir}" is invalid: ${badWorkdir}`);
    const user = v.user as string | undefined;
    if (user !== undefined && /[\s\0]/.test(user)) throw new UserError(`invalid user "${user}"`);
    const env = [
      ...((v["env-file"] as string[] | undefined) ?? []).flatMap((f) => readEnvFile(f, process.env)),
      ...((v.env as string[] | undefined) ?? []).flatMap((e) => parseEnvEntry(e, process.env) ?? []),
    ];
    const { store } = globals();
    const code = await execInContainer(store, findContainer(store, ref), {
      command,
      env,
      user,
      workdir,
      tty: v.tty === true,
      interactive: v.interactive === true,
      detach: v.detach === true,
    });
    // Nothing of box's own is buffered: skip Bun's teardown.
    exitNow(code);
  },
});

import { defineCommand } from "citty";
import { UserError } from "../container/errors.ts";
import { findContainer } from "../container/lookup.ts";
import { liveContainer } from "../container/live.ts";
import { inspectContainer } from "../container/describe.ts";
import { globals } from "./context.ts";
import { requireArguments } from "./each.ts";
import { parseFlags, type ParsedFlags } from "./flags.ts";
import { tryFindImage } from "../image/store.ts";
import { describeImage } from "../image/describe.ts";
import { printHelp } from "./help.ts";
import { renderTemplate } from "./template.ts";

export const inspectCommand = defineCommand({
  meta: { name: "inspect", description: "Show containers (or images) as JSON (docker inspect's shape)" },
  args: {
    format: { type: "string", alias: "f", description: "Go-template field paths, e.g. '{{.State.Pid}}' or '{{json .Config}}'", valueHint: "TEMPLATE" },
    container: { type: "positional", description: "Container name or id (prefix), one or more", required: false },
  },
  async run({ rawArgs, cmd }) {
    const flags = parseFlags(rawArgs, cmd.args as never, [], false);
    if (flags.help) return printHelp(cmd, ["box inspect web", "box inspect -f '{{.State.Status}} {{.State.ExitCode}}' web"]);
    requireArguments("inspect", flags.positionals);
    const { store } = globals();
    // As `docker inspect`: a name no container has may be an image's.
    printInspected(flags, (ref) => {
      try {
        return inspectContainer(liveContainer(store, findContainer(store, ref)));
      } catch (e) {
        const image = e instanceof UserError ? tryFindImage(store.root, ref) : undefined;
        if (!image) throw e;
        return describeImage(store.root, image);
      }
    });
  },
});

/** Prints what `describe` makes of each argument, as JSON or through --format; one that fails is
 * reported on its own line and the rest still printed, as Docker does. */
export function printInspected(flags: ParsedFlags, describe: (ref: string) => Record<string, unknown>): void {
  const found: Record<string, unknown>[] = [];
  let missing: UserError | undefined;
  for (const ref of flags.positionals) {
    try {
      found.push(describe(ref));
    } catch (e) {
      if (!(e instanceof UserError)) throw e;
      missing = e;
      process.stderr.write(`box: ${e.message}\n`);
    }
  }
  const format = flags.values.format as string | undefined;
  if (format !== undefined) process.stdout.write(found.map((c) => `${renderTemplate(format, c)}\n`).join(""));
  else process.stdout.write(`${JSON.stringify(found, null, 4)}\n`);
  if (missing) process.exitCode = missing.exitCode;
}

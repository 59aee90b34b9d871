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
import { parseTemplate } from "./template.ts";
import { toJSON } from "./template-values.ts";

export const inspectCommand = defineCommand({
  meta: { name: "inspect", description: "Show containers (or images) as JSON (docker inspect's shape)" },
  args: {
    format: { type: "string", alias: "f", description: "json, or a Go template: '{{.State.Pid}}', '{{json .Config}}', '{{range .Mounts}}{{.Source}} {{end}}'", valueHint: "TEMPLATE" },
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

/**
 * Prints what `describe` makes of each argument, as docker inspect does: indented JSON, `-f json`
 * compact, or `-f TEMPLATE` once per object (a field the object lacks is an error, as in Docker's
 * fallback over the JSON). One that fails is reported on its own line and the rest still printed.
 */
export function printInspected(flags: ParsedFlags, describe: (ref: string) => Record<string, unknown>): void {
  const format = flags.values.format as string | undefined;
  const template = format === undefined || format === "" || format === "json" ? undefined : parseTemplate(format);
  const found: Record<string, unknown>[] = [];
  let failed: UserError | undefined;
  let out = "";
  for (const ref of flags.positionals) {
    try {
      const described = describe(ref);
      found.push(described);
      if (template) out += `${template.render(described, { missingKey: "error" })}\n`;
    } catch (e) {
      if (!(e instanceof UserError)) throw e;
      failed = e;
      process.stderr.write(`box: ${e.message}\n`);
    }
  }
  if (template) process.stdout.write(out || "\n");
  else process.stdout.write(`${format === "json" ? toJSON(found) : toJSON(found, 4)}\n`);
  if (failed) process.exitCode = failed.exitCode;
}

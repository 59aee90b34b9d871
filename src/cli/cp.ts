import { defineCommand } from "citty";
import { UserError } from "../container/errors.ts";
import { findContainer } from "../container/lookup.ts";
import { copyWithContainer, parseCopyArg } from "../container/copy.ts";
import { globals } from "./context.ts";
import { parseFlags } from "./flags.ts";
import { printHelp } from "./help.ts";

export const cpCommand = defineCommand({
  meta: { name: "cp", description: "Copy files between a running container and the host" },
  args: {
    source: { type: "positional", description: "CONTAINER:PATH or a host path", required: false },
    destination: { type: "positional", description: "a host path or CONTAINER:PATH", required: false },
  },
  async run({ rawArgs, cmd }) {
    const flags = parseFlags(rawArgs, cmd.args as never, [], false);
    if (flags.help) return printHelp(cmd, ["box cp web:/etc/nginx/nginx.conf ./nginx.conf", "box cp ./site web:/usr/share/html"]);
    if (flags.positionals.length !== 2) throw new UserError(`"box cp" requires exactly 2 arguments: SRC DEST`);
    const [src, dst] = flags.positionals.map(parseCopyArg) as [ReturnType<typeof parseCopyArg>, ReturnType<typeof parseCopyArg>];
    if ((src.container === undefined) === (dst.container === undefined)) throw new UserError("box cp copies between a container and the host: exactly one of SRC and DEST must be CONTAINER:PATH");
    const { store } = globals();
    if (src.container !== undefined) copyWithContainer(store, findContainer(store, src.container), src.path, dst.path, false);
    else copyWithContainer(store, findContainer(store, dst.container!), dst.path, src.path, true);
  },
});

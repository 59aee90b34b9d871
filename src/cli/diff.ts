// box diff: what a container changed in its filesystem, as `docker diff` prints it.
import { defineCommand } from "citty";
import { UserError } from "../container/errors.ts";
import { findContainer } from "../container/lookup.ts";
import { containerPaths } from "../container/store.ts";
import { layerChanges } from "../image/changes.ts";
import { join } from "../path.ts";
import { hostOwner } from "../security/userns.ts";
import { globals } from "./context.ts";
import { parseFlags } from "./flags.ts";
import { printHelp } from "./help.ts";

export const diffCommand = defineCommand({
  meta: { name: "diff", description: "Inspect changes to files or directories on a container's filesystem: A added, C changed, D deleted" },
  args: { container: { type: "positional", description: "Container name or id (prefix)", required: false } },
  async run({ rawArgs, cmd }) {
    const flags = parseFlags(rawArgs, cmd.args as never, [], false);
    if (flags.help) return printHelp(cmd, ["box diff web", "box diff web | grep '^A '"]);
    const [ref, extra] = flags.positionals;
    if (!ref || extra !== undefined) throw new UserError(`"box diff" requires exactly 1 argument: CONTAINER`);
    const { store } = globals();
    const spec = findContainer(store, ref);
    if (spec.rootfs.kind !== "image") throw new UserError(`container ${spec.name} runs from a directory (--rootfs ${spec.rootfs.path}), not an image: it has no layer of its own to compare`);
    const upper = join(containerPaths(store, spec.id, []).dir, "upper");
    // Printed as found, in batches: a container's changes can be many.
    let out = "";
    layerChanges(upper, spec.rootfs.layerDirs, (uid, gid) => hostOwner(spec.userns, uid, gid), (kind, path) => {
      out += `${kind} ${path}\n`;
      if (out.length < 1 << 16) return;
      process.stdout.write(out);
      out = "";
    });
    process.stdout.write(out);
  },
});

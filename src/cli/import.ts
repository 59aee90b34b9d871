import { defineCommand } from "citty";
import { UserError } from "../container/errors.ts";
import { importImage } from "../image/ingest.ts";
import { globals } from "./context.ts";
import { log } from "../log.ts";
import { parseFlags } from "./flags.ts";
import { printHelp } from "./help.ts";
import { withInput } from "./input.ts";
import { recordImageEvent } from "../container/events.ts";

export const importCommand = defineCommand({
  meta: {
    name: "import",
    description: "Import a root filesystem tarball (as `docker export` writes it) as an image",
  },
  args: {
    change: { type: "string", alias: "c", description: "Apply a Dockerfile instruction to the image: CMD, ENTRYPOINT, ENV, USER, WORKDIR, STOPSIGNAL, EXPOSE, LABEL, VOLUME", valueHint: "INSTRUCTION" },
    file: { type: "positional", description: "Tarball: plain, gzip or zstd; - for standard input", required: false },
    name: { type: "positional", description: "Image name[:tag] (none: a nameless image)", required: false },
  },
  async run({ rawArgs, cmd }) {
    const flags = parseFlags(rawArgs, cmd.args as never, ["change"], false);
    if (flags.help) return printHelp(cmd, ["box import rootfs.tar busybox", `box import -c 'CMD ["httpd", "-f"]' -c 'EXPOSE 80' rootfs.tar web`, "box export web | box import - web:flat"]);
    const [file, ref, extra] = flags.positionals;
    if (!file || extra !== undefined) throw new UserError(`"box import" requires 1 or 2 arguments: FILE|- [NAME[:TAG]]`);
    const { root } = globals().store;
    const stdin = file === "-";
    await withInput(root, stdin ? undefined : file, "import", async (input) => {
      const result = await importImage(root, input, ref, { changes: (flags.values.change as string[] | undefined) ?? [], move: stdin });
      if (result.skipped.devices) log.warn(`skipped ${result.skipped.devices} device node(s) in ${stdin ? "the archive" : file}: containers get their own /dev`);
      recordImageEvent(root, "import", `sha256:${result.record.id}`, `sha256:${result.record.id}`);
      process.stdout.write(`sha256:${result.record.id}\n`);
    });
  },
});

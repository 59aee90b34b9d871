import { defineCommand } from "citty";
import { UserError } from "../container/errors.ts";
import { importImage } from "../image/ingest.ts";
import { globals } from "./context.ts";
import { log } from "../log.ts";
import { parseFlags } from "./flags.ts";
import { printHelp } from "./help.ts";

export const importCommand = defineCommand({
  meta: {
    name: "import",
    description: "Import a root filesystem tarball (as `docker export` writes it) as an image",
  },
  args: {
    change: { type: "string", alias: "c", description: "Apply a Dockerfile instruction to the image: CMD, ENTRYPOINT, ENV, USER, WORKDIR, STOPSIGNAL, EXPOSE", valueHint: "INSTRUCTION" },
    file: { type: "positional", description: "Tarball: plain, gzip or zstd", required: false },
    name: { type: "positional", description: "Image name[:tag]", required: false },
  },
  async run({ rawArgs, cmd }) {
    const flags = parseFlags(rawArgs, cmd.args as never, ["change"], false);
    if (flags.help) return printHelp(cmd, ["box import rootfs.tar busybox", `box import -c 'CMD ["httpd", "-f"]' -c 'EXPOSE 80' rootfs.tar web`]);
    const [file, ref, extra] = flags.positionals;
    if (!file || !ref || extra !== undefined) throw new UserError(`"box import" requires exactly 2 arguments: FILE NAME[:TAG]`);
    const result = await importImage(globals().store.root, file, ref, { changes: (flags.values.change as string[] | undefined) ?? [] });
    if (result.skipped.devices) log.warn(`skipped ${result.skipped.devices} device node(s) in ${file}: containers get their own /dev`);
    process.stdout.write(`sha256:${result.record.id}\n`);
  },
});

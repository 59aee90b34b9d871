import { defineCommand } from "citty";
import { UserError } from "../container/errors.ts";
import { listImages, removeImage, resolveImage } from "../image/store.ts";
import { containersUsing } from "../container/lookup.ts";
import { shortId } from "../container/store.ts";
import { forEachArgument, requireArguments } from "./each.ts";
import { parseReference } from "../image/reference.ts";
import { globals } from "./context.ts";
import { parseFlags } from "./flags.ts";
import { ago, table } from "./format.ts";
import { printHelp } from "./help.ts";

export const imagesCommand = defineCommand({
  meta: { name: "images", description: "List images" },
  args: {
    quiet: { type: "boolean", alias: "q", description: "Only show image ids" },
    format: { type: "string", description: "table (default) or json", valueHint: "FORMAT" },
  },
  async run({ rawArgs, cmd }) {
    const flags = parseFlags(rawArgs, cmd.args as never, [], false);
    if (flags.help) return printHelp(cmd, ["box images", "box images --format json"]);
    const format = (flags.values.format as string | undefined) ?? "table";
    if (format !== "table" && format !== "json") throw new UserError(`unknown format "${format}": use table or json`);
    const images = listImages(globals().store.root);
    if (format === "json") return void process.stdout.write(JSON.stringify(images, null, 2) + "\n");
    if (flags.values.quiet) return void process.stdout.write(images.map((i) => `${i.id.slice(0, 12)}\n`).join(""));
    const rows = images.map((i) => {
      const { name, tag } = parseReference(i.ref);
      return [name, tag, i.id.slice(0, 12), ago(i.created)];
    });
    process.stdout.write(table(["REPOSITORY", "TAG", "IMAGE ID", "CREATED"], rows));
  },
});

export const rmiCommand = defineCommand({
  meta: { name: "rmi", description: "Remove one or more images" },
  args: { image: { type: "positional", description: "Image name[:tag], one or more", required: false } },
  async run({ rawArgs, cmd }) {
    const flags = parseFlags(rawArgs, cmd.args as never, [], false);
    if (flags.help) return printHelp(cmd, ["box rmi busybox", "box rmi app:v1 app:v2"]);
    requireArguments("rmi", flags.positionals);
    const { store } = globals();
    await forEachArgument(flags.positionals, (ref) => {
      const image = resolveImage(store.root, ref);
      const user = containersUsing(store, image.id)[0];
      if (user) throw new UserError(`conflict: unable to remove image ${image.ref}: container ${shortId(user.id)} (${user.name}) uses it; remove it first`);
      const r = removeImage(store.root, ref);
      return [`Untagged: ${r.ref}`, ...r.deletedLayers.map((l) => `Deleted: sha256:${l}`)].join("\n");
    });
  },
});

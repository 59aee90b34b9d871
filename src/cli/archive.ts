// box load / save / export / commit: images and containers to and from tar archives.
import { defineCommand } from "citty";
import { closeSync, openSync, renameSync, unlinkSync, constants } from "node:fs";
import { UserError } from "../container/errors.ts";
import { findContainer } from "../container/lookup.ts";
import { containerPaths } from "../container/store.ts";
import { liveContainer } from "../container/live.ts";
import { setFrozen } from "../cgroup/freezer.ts";
import { commitContainer } from "../image/commit.ts";
import { loadImages } from "../image/load.ts";
import { saveImages, saveItem } from "../image/save.ts";
import { findImage } from "../image/store.ts";
import { TarWriter } from "../image/tar-writer.ts";
import { archiveMerged } from "../image/tree-archive.ts";
import { isTerminal } from "../sys/tty.ts";
import { randomHex } from "../random.ts";
import { join, resolve } from "../path.ts";
import { globals } from "./context.ts";
import { withInput } from "./input.ts";
import { requireArguments } from "./each.ts";
import { parseFlags } from "./flags.ts";
import { printHelp } from "./help.ts";
import { log } from "../log.ts";
import { recordContainerEvent, recordImageEvent } from "../container/events.ts";

const OUTPUT = { output: { type: "string", alias: "o", description: "Write to a file instead of standard output", valueHint: "FILE" } } as const;

export const loadCommand = defineCommand({
  meta: { name: "load", description: "Load images from a docker save archive or an OCI image layout (tar or directory)" },
  args: {
    input: { type: "string", alias: "i", description: "Read from a file or directory instead of standard input", valueHint: "FILE" },
    quiet: { type: "boolean", alias: "q", description: "No progress (box shows none)" },
  },
  async run({ rawArgs, cmd }) {
    const flags = parseFlags(rawArgs, cmd.args as never, [], false);
    if (flags.help) return printHelp(cmd, ["box load -i busybox.tar", "box load < app.tar", "box load -i ./oci-layout-dir"]);
    const { root } = globals().store;
    const given = flags.values.input as string | undefined;
    await withInput(root, given === "-" ? undefined : given, "load", async (input) => {
      for (const { record, tags } of await loadImages(root, input)) {
        recordImageEvent(root, "load", `sha256:${record.id}`, tags[0] ?? `sha256:${record.id}`);
        // -q (Docker's) quiets progress, of which box has none: the result lines stay.
        process.stdout.write(tags.length ? tags.map((t) => `Loaded image: ${t}\n`).join("") : `Loaded image ID: sha256:${record.id}\n`);
      }
    });
  },
});

export const saveCommand = defineCommand({
  meta: { name: "save", description: "Save images to a tar archive (docker load and OCI tools read it)" },
  args: { ...OUTPUT, image: { type: "positional", description: "Image name[:tag] or id, one or more", required: false } },
  async run({ rawArgs, cmd }) {
    const flags = parseFlags(rawArgs, cmd.args as never, [], false);
    if (flags.help) return printHelp(cmd, ["box save -o busybox.tar busybox", "box save app:v1 app:v2 | gzip > app.tar.gz"]);
    requireArguments("save", flags.positionals);
    const { root } = globals().store;
    const items = flags.positionals.map((ref) => saveItem(root, ref, findImage(root, ref)));
    writeArchive(flags.values.output as string | undefined, "save", (fd) => saveImages(root, items, fd));
    for (const { record } of items) recordImageEvent(root, "save", `sha256:${record.id}`, `sha256:${record.id}`);
  },
});

export const exportCommand = defineCommand({
  meta: { name: "export", description: "Write a container's filesystem as a tar archive" },
  args: { ...OUTPUT, container: { type: "positional", description: "Container name or id", required: false } },
  async run({ rawArgs, cmd }) {
    const flags = parseFlags(rawArgs, cmd.args as never, [], false);
    if (flags.help) return printHelp(cmd, ["box export -o web.tar web", "box export web | gzip > web.tar.gz"]);
    const [ref, extra] = flags.positionals;
    if (!ref || extra !== undefined) throw new UserError(`"box export" requires exactly 1 argument: CONTAINER`);
    const { store } = globals();
    const spec = findContainer(store, ref);
    const paths = containerPaths(store, spec.id, []);
    const dirs = spec.rootfs.kind === "image" ? [join(paths.dir, "upper"), ...spec.rootfs.layerDirs] : [spec.rootfs.path];
    writeArchive(flags.values.output as string | undefined, "export", (fd) => {
      const tar = new TarWriter(fd);
      const count = archiveMerged(tar, dirs);
      tar.finish();
      if (count.skipped) log.warn(`left out ${count.skipped} device node(s) or socket(s)`);
    });
  },
});

export const commitCommand = defineCommand({
  meta: { name: "commit", description: "Make a new image of a container's changes" },
  args: {
    change: { type: "string", alias: "c", description: "Apply a Dockerfile instruction: CMD, ENTRYPOINT, ENV, USER, WORKDIR, STOPSIGNAL, EXPOSE, LABEL", valueHint: "INSTRUCTION" },
    message: { type: "string", alias: "m", description: "Commit message (in the image's history)", valueHint: "TEXT" },
    author: { type: "string", alias: "a", description: "Author", valueHint: "NAME" },
    pause: { type: "boolean", alias: "p", description: "Freeze a running container while its layer is archived (the default; --pause=false to not)", default: true },
    container: { type: "positional", description: "Container name or id", required: false },
    repository: { type: "positional", description: "NAME[:TAG] for the new image", required: false },
  },
  async run({ rawArgs, cmd }) {
    const flags = parseFlags(rawArgs, cmd.args as never, ["change"], false);
    if (flags.help) return printHelp(cmd, ["box commit web web:configured", `box commit -c 'CMD ["httpd", "-f"]' web`]);
    const [ref, name, extra] = flags.positionals;
    if (!ref || extra !== undefined) throw new UserError(`"box commit" requires 1 or 2 arguments: CONTAINER [NAME[:TAG]]`);
    const { store } = globals();
    const spec = findContainer(store, ref);
    const live = liveContainer(store, spec);
    // As Docker: a running container is frozen, so the layer is one moment of it (rootless: no
    // cgroup to freeze, so not).
    const freeze = flags.values.pause !== false && live.pid !== undefined && live.state.status === "running" && !spec.rootless ? live.paths.cgroups : [];
    if (freeze.length) await setFrozen(freeze, true);
    try {
      const record = await commitContainer(store.root, spec, live.paths.dir, {
        ref: name,
        changes: (flags.values.change as string[] | undefined) ?? [],
        message: flags.values.message as string | undefined,
        author: flags.values.author as string | undefined,
      });
      recordContainerEvent(store.root, spec, "commit", { comment: (flags.values.message as string | undefined) ?? "", imageID: `sha256:${record.id}`, imageRef: name ?? "" });
      process.stdout.write(`sha256:${record.id}\n`);
    } finally {
      if (freeze.length) await setFrozen(freeze, false);
    }
  },
});

/**
 * Writes an archive to `output` (complete, or not at all: it is written under a temporary name and
 * renamed) or to standard output, which must not be a terminal (Docker's rule).
 */
function writeArchive(output: string | undefined, command: string, write: (fd: number) => void): void {
  if (output === undefined) {
    if (isTerminal(1)) throw new UserError(`cowardly refusing to write an archive to a terminal: use -o FILE or a redirection ("box ${command} ... > FILE")`);
    return write(1);
  }
  const target = resolve(output);
  const temp = `${target}.tmp-${randomHex(6)}`;
  let fd: number;
  try {
    fd = openSync(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o644);
  } catch (err) {
    throw new UserError(`cannot write ${output}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  try {
    try {
      write(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temp, target);
  } catch (err) {
    try {
      unlinkSync(temp);
    } catch {}
    throw err;
  }
}

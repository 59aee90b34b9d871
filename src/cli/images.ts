// box images / rmi / tag / image (ls, rm, tag, prune, inspect and the long forms of pull, load,
// save, import).
import { defineCommand } from "citty";
import { UserError } from "../container/errors.ts";
import { listContainers } from "../container/lookup.ts";
import { shortId, type Store } from "../container/store.ts";
import type { ContainerSpec } from "../container/spec.ts";
import { describeImage } from "../image/describe.ts";
import { parseReference, tryParseReference } from "../image/reference.ts";
import { danglingImages, findImage, imageHistory, imageTags, listImages, removeImage, removeUnreferenced, tagImage, untag, type ListedImage } from "../image/store.ts";
import { basename } from "../path.ts";
import { confirmed, FORCE } from "./confirm.ts";
import { globals } from "./context.ts";
import { forEachArgument, requireArguments } from "./each.ts";
import { parseFlags } from "./flags.ts";
import { ago, createdAt, ellipsis, humanSize, printList, type Listing } from "./format.ts";
import { defineFamily, printHelp } from "./help.ts";
import { printInspected } from "./inspect.ts";
import { goStruct } from "./template-values.ts";

export const imagesCommand = defineCommand({
  meta: { name: "images", description: "List images" },
  args: {
    quiet: { type: "boolean", alias: "q", description: "Only show image ids" },
    all: { type: "boolean", alias: "a", description: "Show all images (box keeps no intermediate images: the same as without)" },
    digests: { type: "boolean", description: "Show digests" },
    "no-trunc": { type: "boolean", description: "Show whole image ids" },
    filter: { type: "string", alias: "f", description: "dangling=true|false, reference=PATTERN (* matches within a name component), label=KEY[=VALUE]", valueHint: "FILTER" },
    format: { type: "string", description: "table (default), 'table TEMPLATE', json (one object per line), or a Go template: '{{.Repository}}:{{.Tag}}'", valueHint: "FORMAT" },
    repository: { type: "positional", description: "Only this REPOSITORY[:TAG] (may have *)", required: false },
  },
  async run({ rawArgs, cmd }) {
    const flags = parseFlags(rawArgs, cmd.args as never, ["filter"], false);
    if (flags.help) return printHelp(cmd, ["box images", "box images -f dangling=true -q", "box images --format '{{.Repository}}:{{.Tag}}' 'team/*'"]);
    const filters = [...((flags.values.filter as string[] | undefined) ?? []), ...flags.positionals.slice(0, 1).map((r) => `reference=${r}`)].map(parseImageFilter);
    const rows = listImages(globals().store.root).flatMap(rowsOf).filter((row) => filters.every((f) => f(row)));
    const trunc = flags.values["no-trunc"] !== true;
    if (flags.values.quiet) return void process.stdout.write(rows.map((row) => `${imageRow(row, trunc).ID}\n`).join(""));
    const format = (flags.values.format as string | undefined) ?? "table";
    const listing = flags.values.digests === true ? { ...IMAGE_LISTING, table: IMAGE_TABLE_WITH_DIGEST } : IMAGE_LISTING;
    printList(format, () => rows.map((row) => imageRow(row, trunc)), listing);
  },
});

interface ImageRow {
  image: ListedImage;
  name: string;
  tag: string;
}

// A row per name; a nameless image shows its repository if it was pulled by digest, as Docker does.
function rowsOf(image: ListedImage): ImageRow[] {
  if (image.tags.length) return image.tags.map((t) => ({ image, name: parseReference(t).name, tag: parseReference(t).tag! }));
  const pulled = image.repoDigests[0]?.split("@")[0];
  return [{ image, name: pulled ?? "<none>", tag: "<none>" }];
}

const IMAGE_LISTING: Listing = {
  table: "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{if .CreatedSince }}{{.CreatedSince}}{{else}}N/A{{end}}\t{{.Size}}",
  headers: {
    ID: "IMAGE ID", Repository: "REPOSITORY", Tag: "TAG", Digest: "DIGEST", CreatedSince: "CREATED", CreatedAt: "CREATED AT", Size: "SIZE",
    Containers: "CONTAINERS", VirtualSize: "SIZE", SharedSize: "SHARED SIZE", UniqueSize: "UNIQUE SIZE",
  },
};
const IMAGE_TABLE_WITH_DIGEST = "table {{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{if .CreatedSince }}{{.CreatedSince}}{{else}}N/A{{end}}\t{{.Size}}";

/** A row in the shape of Docker's imageContext (`docker images --format json`). */
function imageRow(row: ImageRow, trunc: boolean) {
  const { image } = row;
  return goStruct("*formatter.imageContext", {
    Containers: "N/A",
    CreatedAt: createdAt(image.created),
    CreatedSince: ago(image.created),
    Digest: image.repoDigests.find((d) => d.startsWith(`${row.name}@`))?.split("@")[1] ?? "<none>",
    ID: trunc ? image.id.slice(0, 12) : `sha256:${image.id}`,
    Repository: row.name,
    SharedSize: "N/A",
    Size: humanSize(image.size),
    Tag: row.tag,
    UniqueSize: "N/A",
    VirtualSize: humanSize(image.size, 4),
  });
}

function parseImageFilter(text: string): (row: ImageRow) => boolean {
  const eq = text.indexOf("=");
  const [key, value] = eq < 0 ? [text, ""] : [text.slice(0, eq), text.slice(eq + 1)];
  if (key === "dangling" && (value === "true" || value === "false")) return (row) => (row.image.tags.length === 0) === (value === "true");
  if (key === "label" && value) {
    const [k, v] = value.split(/=(.*)/s);
    return (row) => row.image.config.Labels?.[k!] !== undefined && (v === undefined || row.image.config.Labels?.[k!] === v);
  }
  if (key === "reference" && value) {
    // Docker's patterns: * within a component; a pattern without a tag matches every tag.
    const glob = (p: string) => new RegExp(`^${p.split("*").map((x) => x.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join("[^/]*")}$`);
    const tagged = /:[^/]*$/.test(value);
    // Without a wildcard, Docker Hub's long forms mean the short ones: docker.io/library/bb is bb.
    const normal = value.includes("*") ? undefined : tryParseReference(value);
    const pattern = glob(normal ? (tagged ? normal.ref : normal.name) : value);
    return (row) => row.tag !== "<none>" && (tagged ? pattern.test(`${row.name}:${row.tag}`) : pattern.test(row.name));
  }
  throw new UserError(`invalid filter "${text}": use dangling=true|false, reference=PATTERN or label=KEY[=VALUE]`);
}

export const rmiCommand = defineCommand({
  meta: { name: "rmi", description: "Remove one or more images" },
  args: {
    force: { type: "boolean", alias: "f", description: "Remove an image containers use (their layers stay until they are removed), or all names of an image given by id" },
    image: { type: "positional", description: "Image name[:tag] or id, one or more", required: false },
  },
  async run({ rawArgs, cmd }) {
    const flags = parseFlags(rawArgs, cmd.args as never, [], false);
    if (flags.help) return printHelp(cmd, ["box rmi busybox", "box rmi app:v1 app:v2", "box rmi -f 3f57d9401f8d"]);
    requireArguments("rmi", flags.positionals);
    const { store } = globals();
    const force = flags.values.force === true;
    await forEachArgument(flags.positionals, (ref) => removeByReference(store, ref, force).join("\n"));
  },
});

/**
 * Docker's rules: a name goes alone, and the image with its last name; an id takes every name
 * (with -f when it has several). An image a container uses stays unless forced, and even then its
 * layers stay for the container.
 */
function removeByReference(store: Store, ref: string, force: boolean): string[] {
  const record = findImage(store.root, ref);
  const tags = imageTags(store.root, record.id);
  const name = tryParseReference(ref)?.ref;
  const byName = name !== undefined && tags.includes(name);
  if (!byName && tags.length > 1 && !force) {
    throw new UserError(`conflict: unable to delete ${record.id.slice(0, 12)} (must be forced): image is referenced in multiple repositories`);
  }
  const containers = listContainers(store);
  const user = containers.find((c) => c.rootfs.kind === "image" && c.rootfs.id === record.id);
  const lastName = !byName || tags.length === 1;
  if (user && lastName && !force) {
    throw new UserError(`conflict: unable to remove image ${byName ? name : record.id.slice(0, 12)}: container ${shortId(user.id)} (${user.name}) uses it; remove it first, or use -f`);
  }
  if (byName && !lastName) {
    untag(store.root, ref);
    return [`Untagged: ${name}`];
  }
  const removed = removeImage(store.root, record.id, containerLayers(containers));
  return [...removed.untagged.map((t) => `Untagged: ${t}`), ...removed.deleted.map((d) => `Deleted: ${d}`)];
}

/** Layers of every container's rootfs: they stay, whatever happens to the image. */
function containerLayers(containers: ContainerSpec[]): Set<string> {
  return new Set(containers.flatMap((c) => (c.rootfs.kind === "image" ? c.rootfs.layerDirs.map((d) => basename(d)) : [])));
}

export const tagCommand = defineCommand({
  meta: { name: "tag", description: "Give an image another name" },
  args: {
    source: { type: "positional", description: "Image name[:tag] or id", required: false },
    target: { type: "positional", description: "New name[:tag]", required: false },
  },
  async run({ rawArgs, cmd }) {
    const flags = parseFlags(rawArgs, cmd.args as never, [], false);
    if (flags.help) return printHelp(cmd, ["box tag busybox localhost:5000/busybox:1"]);
    const [source, target, extra] = flags.positionals;
    if (!source || !target || extra !== undefined) throw new UserError(`"box tag" requires exactly 2 arguments: SOURCE_IMAGE TARGET_IMAGE`);
    tagImage(globals().store.root, source, target);
  },
});

const imagePruneCommand = defineCommand({
  meta: { name: "image prune", description: "Remove images no name points at (with -a: every image no container uses)" },
  args: { ...FORCE, all: { type: "boolean", alias: "a", description: "Remove every image no container uses, not only nameless ones" } },
  async run({ rawArgs, cmd }) {
    const flags = parseFlags(rawArgs, cmd.args as never, [], false);
    if (flags.help) return printHelp(cmd, ["box image prune -f", "box image prune -a -f"]);
    const all = flags.values.all === true;
    if (!confirmed(flags.values.force, "box image prune", all ? "every image without at least one container associated to it" : "every dangling image")) return;
    const { lines, reclaimed } = pruneImages(globals().store, all);
    if (lines.length) process.stdout.write(`Deleted Images:\n${lines.join("\n")}\n\n`);
    process.stdout.write(`Total reclaimed space: ${humanSize(reclaimed, 4)}\n`);
  },
});

/** Removes nameless images (`all`: every image) no container uses, and whatever layers and blobs
 * nothing refers to any more (what pulls and loads that failed half-way left). */
export function pruneImages(store: Store, all: boolean): { lines: string[]; reclaimed: number } {
  const containers = listContainers(store);
  const used = new Set(containers.flatMap((c) => (c.rootfs.kind === "image" ? [c.rootfs.id] : [])));
  const keep = containerLayers(containers);
  const doomed = (all ? listImages(store.root) : danglingImages(store.root)).filter((i) => !used.has(i.id));
  const lines: string[] = [];
  let reclaimed = 0;
  for (const image of doomed) {
    const removed = removeImage(store.root, image.id, keep);
    lines.push(...removed.untagged.map((t) => `untagged: ${t}`), ...removed.deleted.map((d) => `deleted: ${d}`));
    reclaimed += image.size;
  }
  lines.push(...removeUnreferenced(store.root, keep).map((d) => `deleted: ${d}`));
  return { lines, reclaimed };
}

const imageInspectCommand = defineCommand({
  meta: { name: "image inspect", description: "Show images as JSON (docker image inspect's shape)" },
  args: {
    format: { type: "string", alias: "f", description: "json, or a Go template: '{{.Config.Cmd}}', '{{json .Config}}'", valueHint: "TEMPLATE" },
    image: { type: "positional", description: "Image name[:tag] or id, one or more", required: false },
  },
  async run({ rawArgs, cmd }) {
    const flags = parseFlags(rawArgs, cmd.args as never, [], false);
    if (flags.help) return printHelp(cmd, ["box image inspect busybox", "box image inspect -f '{{json .Config}}' busybox"]);
    requireArguments("image inspect", flags.positionals);
    const { root } = globals().store;
    printInspected(flags, (ref) => describeImage(root, findImage(root, ref)));
  },
});

export const historyCommand = defineCommand({
  meta: { name: "history", description: "Show how an image's layers were made" },
  args: {
    "no-trunc": { type: "boolean", description: "Do not shorten ids and commands" },
    quiet: { type: "boolean", alias: "q", description: "Only show image ids" },
    format: { type: "string", description: "table (default), 'table TEMPLATE', json (one object per line), or a Go template: '{{.CreatedBy}}'", valueHint: "FORMAT" },
    human: { type: "string", alias: "H", description: "Sizes and dates in human readable form (default true)", valueHint: "true|false" },
    image: { type: "positional", description: "Image name[:tag] or id", required: false },
  },
  async run({ rawArgs, cmd }) {
    const flags = parseFlags(rawArgs, cmd.args as never, [], false);
    if (flags.help) return printHelp(cmd, ["box history busybox", "box history --format json app:v1"]);
    const [ref, extra] = flags.positionals;
    if (!ref || extra !== undefined) throw new UserError(`"box history" requires exactly 1 argument: IMAGE`);
    const { root } = globals().store;
    const record = findImage(root, ref);
    const trunc = flags.values["no-trunc"] !== true;
    const human = flags.values.human !== "false";
    const rows = imageHistory(root, record).map((step, i) =>
      goStruct("*image.historyContext", {
        ID: i === 0 ? (trunc ? record.id.slice(0, 12) : `sha256:${record.id}`) : "<missing>",
        CreatedAt: step.created ? new Date(step.created).toISOString().replace(/\.\d+Z$/, "Z") : "",
        CreatedSince: !step.created ? "N/A" : human ? ago(step.created) : new Date(step.created).toISOString().replace(/\.\d+Z$/, "Z"),
        CreatedBy: trunc ? ellipsis(step.createdBy, 45) : step.createdBy,
        Size: human ? humanSize(step.size) : String(step.size),
        Comment: step.comment,
      }),
    );
    if (flags.values.quiet) return void process.stdout.write(rows.map((r) => `${r.ID}\n`).join(""));
    const listing = human ? HISTORY_LISTING : { ...HISTORY_LISTING, table: "table {{.ID}}\t{{.CreatedAt}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}" };
    printList(flags.values.format as string | undefined, () => rows, listing);
  },
});

const HISTORY_LISTING: Listing = {
  table: "table {{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}",
  headers: { ID: "IMAGE", CreatedSince: "CREATED", CreatedAt: "CREATED AT", CreatedBy: "CREATED BY", Size: "SIZE", Comment: "COMMENT" },
};

/** Docker's `docker image X`: the top-level commands (`ls` is `images`), prune and inspect. */
const IMAGE_COMMANDS: Record<string, string> = {
  ls: "images", list: "images", rm: "rmi", remove: "rmi", tag: "tag", history: "history",
  pull: "pull", push: "push", load: "load", save: "save", import: "import", build: "build",
};

export const imageCommand = defineFamily(
  { name: "image", description: "Manage images" },
  () => import("./main.ts").then((m) => ({ ...m.topLevel(IMAGE_COMMANDS), prune: imagePruneCommand, inspect: imageInspectCommand })),
  ["box image ls", "box image prune -a -f", "box image inspect busybox"],
);

// `box system df`: what images, containers, volumes and the build cache take on disk, in
// docker system df's rows (Images, Containers, Local Volumes, Build Cache; box has no volumes
// or build cache of its own yet: those are 0).
import { defineCommand } from "citty";
import { layerSize } from "../image/layers.ts";
import { listImages, type ListedImage } from "../image/store.ts";
import { parseReference } from "../image/reference.ts";
import { globals } from "./context.ts";
import { directorySize, writableSize } from "./disk-usage.ts";
import { listVolumes, volumeData, volumeUsers } from "../container/volumes.ts";
import { parseFlags } from "./flags.ts";
import { ago, humanSize, printList, renderList, listFormat, tabwrite, type Listing } from "./format.ts";
import { printHelp } from "./help.ts";
import { isActive, liveContainers } from "./host.ts";
import { CONTAINER_LISTING, containerRow } from "./ps.ts";
import { renderTemplate } from "./template.ts";
import { goStruct } from "./template-values.ts";

const DF_LISTING: Listing = {
  table: "table {{.Type}}\t{{.TotalCount}}\t{{.Active}}\t{{.Size}}\t{{.Reclaimable}}",
  headers: { Type: "TYPE", TotalCount: "TOTAL", Active: "ACTIVE", Size: "SIZE", Reclaimable: "RECLAIMABLE" },
};

/** Docker's "1.2GB (45%)": what removing the unused would free, and its share of the total. */
function reclaimable(free: number, total: number): string {
  return total > 0 ? `${humanSize(free, 4)} (${Math.floor((free * 100) / total)}%)` : humanSize(free, 4);
}

function summaryRow(type: string, total: number, active: number, size: number, free: number) {
  return goStruct("*formatter.diskUsageContext", { Type: type, TotalCount: String(total), Active: String(active), Size: humanSize(size, 4), Reclaimable: reclaimable(free, size) });
}

export const dfCommand = defineCommand({
  meta: { name: "system df", description: "Show what images, containers, volumes and the build cache take on disk" },
  args: {
    verbose: { type: "boolean", alias: "v", description: "Show each image and container" },
    format: { type: "string", description: "table (default), 'table TEMPLATE', json (one object per line), or a Go template: '{{.Type}} {{.Size}}'", valueHint: "FORMAT" },
  },
  async run({ rawArgs, cmd }) {
    const flags = parseFlags(rawArgs, cmd.args as never, [], false);
    if (flags.help) return printHelp(cmd, ["box system df", "box system df -v", "box system df --format '{{.Type}}: {{.Size}}'"]);
    const { store } = globals();
    const format = flags.values.format as string | undefined;
    const images = listImages(store.root);
    // Newest first, as docker ps and docker system df -v list them.
    const containers = liveContainers(store).sort((a, b) => b.spec.created.localeCompare(a.spec.created));
    const usedImages = new Set(containers.flatMap((c) => (c.spec.rootfs.kind === "image" ? [c.spec.rootfs.id] : [])));
    const layerBytes = new Map<string, number>();
    const sizeOfLayer = (digest: string) => layerBytes.get(digest) ?? (layerBytes.set(digest, layerSize(store.root, digest)), layerBytes.get(digest)!);
    const layersOf = (images: ListedImage[]) => new Set(images.flatMap((i) => i.layers));
    const bytesOf = (layers: Set<string>) => [...layers].reduce((sum, d) => sum + sizeOfLayer(d), 0);
    // Layers are shared: the images' size counts each once, and what is reclaimable is what no
    // container's image holds.
    const allLayers = bytesOf(layersOf(images));
    const heldLayers = bytesOf(layersOf(images.filter((i) => usedImages.has(i.id))));
    const rw = new Map(containers.map((c) => [c.spec.id, writableSize(c)]));
    const containerBytes = [...rw.values()].reduce((a, b) => a + b, 0);
    const idleBytes = containers.filter((c) => !isActive(c)).reduce((sum, c) => sum + rw.get(c.spec.id)!, 0);
    const volumes = listVolumes(store).map((v) => ({ v, links: volumeUsers(store, v.Name, containers.map((c) => c.spec)).length, bytes: directorySize(volumeData(store, v.Name)) }));
    const volumeBytes = volumes.reduce((sum, v) => sum + v.bytes, 0);

    if (!flags.values.verbose) {
      printList(format, () => [
        summaryRow("Images", images.length, usedImages.size, allLayers, allLayers - heldLayers),
        summaryRow("Containers", containers.length, containers.filter(isActive).length, containerBytes, idleBytes),
        summaryRow("Local Volumes", volumes.length, volumes.filter((v) => v.links > 0).length, volumeBytes, volumes.filter((v) => v.links === 0).reduce((sum, v) => sum + v.bytes, 0)),
        summaryRow("Build Cache", 0, 0, 0, 0),
      ], DF_LISTING);
      return;
    }
    const imageRows = images.flatMap((i) => (i.tags.length ? i.tags : ["<none>:<none>"]).map((tag) => {
      const ref = tag === "<none>:<none>" ? undefined : parseReference(tag);
      const shared = bytesOf(new Set(i.layers.filter((d) => images.some((o) => o.id !== i.id && o.layers.includes(d)))));
      return goStruct("*formatter.imageContext", {
        Repository: ref?.name ?? "<none>", Tag: ref?.tag ?? "<none>", ID: i.id.slice(0, 12), CreatedSince: ago(i.created),
        Size: humanSize(i.size), SharedSize: humanSize(shared, 4), UniqueSize: humanSize(i.size - shared, 4),
        Containers: String(containers.filter((c) => c.spec.rootfs.kind === "image" && c.spec.rootfs.id === i.id).length),
      });
    }));
    const now = Date.now();
    // Docker's verbose rows show no virtual size: no image sizes.
    const containerRows = containers.map((c) => containerRow(c, true, () => new Map(), now));
    const volumeRows = volumes.map(({ v, links, bytes }) => goStruct("*formatter.volumeContext", { Name: v.Name, Links: String(links), Size: humanSize(bytes), Driver: v.Driver, Scope: "local", Mountpoint: volumeData(store, v.Name), Labels: "", CreatedAt: v.CreatedAt }));
    if (format !== undefined && format !== "" && format !== "table") {
      return void process.stdout.write(renderTemplate(format, { Images: imageRows, Containers: containerRows, Volumes: volumeRows, BuildCache: [] }));
    }
    const section = (title: string, table: string, rows: unknown[], headers: Record<string, string>) =>
      `${title}\n\n${renderList(listFormat(table, { table, headers }), rows, { table, headers })}`;
    process.stdout.write(
      [
        section("Images space usage:", "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}\t{{.SharedSize}}\t{{.UniqueSize}}\t{{.Containers}}", imageRows, {
          Repository: "REPOSITORY", Tag: "TAG", ID: "IMAGE ID", CreatedSince: "CREATED", Size: "SIZE", SharedSize: "SHARED SIZE", UniqueSize: "UNIQUE SIZE", Containers: "CONTAINERS",
        }),
        section("Containers space usage:", "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.LocalVolumes}}\t{{.Size}}\t{{.RunningFor}}\t{{.Status}}\t{{.Names}}", containerRows, CONTAINER_LISTING.headers),
        section("Local Volumes space usage:", "table {{.Name}}\t{{.Links}}\t{{.Size}}", volumeRows, { Name: "VOLUME NAME", Links: "LINKS", Size: "SIZE" }),
        `Build cache usage: 0B\n\n${tabwrite("CACHE ID\tCACHE TYPE\tSIZE\tCREATED\tLAST USED\tUSAGE\tSHARED\n")}`,
      ].join("\n"),
    );
  },
});

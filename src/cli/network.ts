// `box network create|ls|inspect|rm|connect|disconnect|prune`: the bridge networks of the store.
import { defineCommand } from "citty";
import { UserError } from "../container/errors.ts";
import { createNetwork, listNetworks, networkMembers, pruneNetworks, removeNetwork, type NetworkConfig } from "../net/network.ts";
import { endpointMac } from "../net/endpoint.ts";
import { parseSubnet } from "../net/ipam.ts";
import { globals } from "./context.ts";
import { parseFlags } from "./flags.ts";
import { defineFamily, printHelp } from "./help.ts";
import { confirmed, FORCE } from "./confirm.ts";
import { parseAlias } from "../net/hosts.ts";
import { IPV4 } from "../net/ipv4.ts";
import { printList, type Listing } from "./format.ts";
import { printInspected } from "./inspect.ts";
import { goStruct } from "./template-values.ts";
import { findContainer } from "../container/lookup.ts";
import { exposedPort } from "../image/config.ts";

/** box names its networks; their id (Docker's NETWORK ID) is the sha256 of the name, stable and unique. */
/** A network by name, or by a prefix of its id (what `network ls -q` prints), as Docker's. `missing`: Docker's words for none. */
function findNetworkRef(nets: NetworkConfig[], ref: string, missing: string): NetworkConfig {
  const n = nets.find((x) => x.name === ref) ?? nets.find((x) => ref.length > 0 && networkId(x).startsWith(ref));
  if (!n) throw new UserError(missing);
  return n;
}

function networkId(n: NetworkConfig): string {
  return new Bun.CryptoHasher("sha256").update(`box network ${n.name}`).digest("hex");
}

function describe(n: NetworkConfig): Record<string, unknown> {
  const members = networkMembers(globals().store, n.name);
  return {
    Name: n.name,
    Id: networkId(n),
    Scope: "local",
    Driver: "bridge",
    EnableIPv4: true,
    EnableIPv6: false,
    IPAM: { Driver: "default", Options: null, Config: [{ Subnet: `${n.subnet}/${n.prefix}`, Gateway: n.gateway }] },
    Internal: false,
    Attachable: false,
    Containers: Object.fromEntries(members.map((m) => [m.id, { Name: m.name, MacAddress: endpointMac(m), IPv4Address: `${m.ip}/${n.prefix}`, IPv6Address: "" }])),
    Options: { "com.docker.network.bridge.name": n.bridge, "com.docker.network.driver.mtu": String(n.mtu) },
    Labels: {},
  };
}

const NETWORK_LISTING: Listing = {
  table: "table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}",
  headers: { ID: "NETWORK ID", Name: "NAME", Driver: "DRIVER", Scope: "SCOPE", IPv4: "IPV4", IPv6: "IPV6", Internal: "INTERNAL", Labels: "LABELS", CreatedAt: "CREATED AT" },
};

/** A row in the shape of Docker's networkContext. */
function networkRow(n: NetworkConfig, trunc: boolean) {
  const id = networkId(n);
  return goStruct("*network.networkContext", {
    ID: trunc ? id.slice(0, 12) : id,
    Name: n.name,
    Driver: "bridge",
    Scope: "local",
    IPv4: "true",
    IPv6: "false",
    Internal: "false",
    Labels: "",
    Label: (_name: string) => "",
    // box keeps no creation time of a network.
    CreatedAt: "0001-01-01 00:00:00 +0000 UTC",
  });
}

const lsCommand = defineCommand({
  meta: { name: "network ls", description: "List networks" },
  args: {
    quiet: { type: "boolean", alias: "q", description: "Only ids" },
    format: { type: "string", description: "table (default), 'table TEMPLATE', json (one object per line), or a Go template: '{{.Name}}'", valueHint: "FORMAT" },
    "no-trunc": { type: "boolean", description: "Do not truncate ids" },
  },
  async run({ rawArgs, cmd }) {
    const flags = parseFlags(rawArgs, cmd.args as never, [], false);
    if (flags.help) return printHelp(cmd, ["box network ls", "box network ls --format '{{.Name}}'"]);
    const trunc = flags.values["no-trunc"] !== true;
    const rows = listNetworks(globals().store).map((n) => networkRow(n, trunc));
    if (flags.values.quiet) return void process.stdout.write(rows.map((r) => `${r.ID}\n`).join(""));
    printList(flags.values.format as string | undefined, () => rows, NETWORK_LISTING);
  },
});

const inspectCommand = defineCommand({
  meta: { name: "network inspect", description: "Show networks as JSON" },
  args: {
    format: { type: "string", alias: "f", description: "json, or a Go template: '{{range .IPAM.Config}}{{.Subnet}}{{end}}'", valueHint: "TEMPLATE" },
    network: { type: "positional", description: "Network names or ids", required: false },
  },
  async run({ rawArgs, cmd }) {
    const flags = parseFlags(rawArgs, cmd.args as never, [], false);
    if (flags.help) return printHelp(cmd, ["box network inspect bridge", "box network inspect -f '{{.IPAM.Config}}' bridge"]);
    if (!flags.positionals.length) throw new UserError(`"box network inspect" requires at least 1 argument`);
    const nets = listNetworks(globals().store);
    printInspected(flags, (ref) => describe(findNetworkRef(nets, ref, `no such network: ${ref}`)));
  },
});

const createCommand = defineCommand({
  meta: { name: "network create", description: "Create a bridge network whose containers reach each other by name" },
  args: {
    subnet: { type: "string", description: "Its IPv4 subnet (default: a free 10.x.0.0/16)", valueHint: "CIDR" },
    gateway: { type: "string", description: "The bridge's address (default: the subnet's first)", valueHint: "IP" },
    network: { type: "positional", description: "Network name", required: false },
  },
  async run({ rawArgs, cmd }) {
    const flags = parseFlags(rawArgs, cmd.args as never, [], false);
    if (flags.help) return printHelp(cmd, ["box network create backend", "box network create --subnet 10.50.0.0/24 backend"]);
    if (flags.positionals.length !== 1) throw new UserError(`"box network create" requires exactly 1 argument`);
    const subnet = flags.values.subnet as string | undefined;
    const gateway = flags.values.gateway as string | undefined;
    if (gateway !== undefined && subnet === undefined) throw new UserError("--gateway needs --subnet");
    createNetwork(globals().store, flags.positionals[0]!, subnet === undefined ? undefined : parseSubnet(subnet, gateway));
    process.stdout.write(`${flags.positionals[0]}\n`);
  },
});

const rmCommand = defineCommand({
  meta: { name: "network rm", description: "Remove networks no container uses (the bridge, its rules; box's nftables table with the last one)" },
  args: { network: { type: "positional", description: "Network names", required: false } },
  async run({ rawArgs, cmd }) {
    const flags = parseFlags(rawArgs, cmd.args as never, [], false);
    if (flags.help) return printHelp(cmd, ["box network rm bridge"]);
    if (!flags.positionals.length) throw new UserError(`"box network rm" requires at least 1 argument`);
    const nets = listNetworks(globals().store);
    for (const ref of flags.positionals) {
      removeNetwork(globals().store, findNetworkRef(nets, ref, `network ${ref} not found`).name);
      process.stdout.write(`${ref}\n`);
    }
  },
});

/** `box port CONTAINER [PORT[/PROTO]]`: where the container's ports are published (Docker's output). */
export const portCommand = defineCommand({
  meta: { name: "port", description: "List a container's published ports" },
  args: {
    container: { type: "positional", description: "Container name or id (prefix)", required: false },
    port: { type: "positional", description: "Only this port of the container", required: false, valueHint: "PORT[/tcp|udp]" },
  },
  async run({ rawArgs, cmd }) {
    const flags = parseFlags(rawArgs, cmd.args as never, [], false);
    if (flags.help) return printHelp(cmd, ["box port web", "box port web 80/tcp"]);
    const [ref, only] = flags.positionals;
    if (ref === undefined || flags.positionals.length > 2) throw new UserError(`"box port" requires 1 or 2 arguments`);
    const wanted = only === undefined ? undefined : exposedPort(only);
    if (only !== undefined && wanted === undefined) throw new UserError(`invalid port "${only}": PORT or PORT/tcp|udp`);
    const spec = findContainer(globals().store, ref);
    const ports = (spec.endpoint?.ports ?? []).filter((p) => wanted === undefined || `${p.containerPort}/${p.protocol}` === wanted);
    if (wanted !== undefined && !ports.length) throw new UserError(`no public port '${wanted}' published for ${spec.name}`);
    const lines = ports.map((p) => `${wanted === undefined ? `${p.containerPort}/${p.protocol} -> ` : ""}${p.hostIp ?? "0.0.0.0"}:${p.hostPort}`);
    process.stdout.write(lines.map((l) => `${l}\n`).join(""));
  },
});

const connectCommand = defineCommand({
  meta: { name: "network connect", description: "Connect a container to a network (a running one gets its link at once)" },
  args: {
    ip: { type: "string", description: "Its IPv4 address on the network (user-defined networks)", valueHint: "IP" },
    alias: { type: "string", description: "Another name of it on the network (user-defined networks; comma-separated or repeated)", valueHint: "NAME" },
    network: { type: "positional", description: "Network name", required: false },
    container: { type: "positional", description: "Container name or id (prefix)", required: false },
  },
  async run({ rawArgs, cmd }) {
    const flags = parseFlags(rawArgs, cmd.args as never, ["alias"], false);
    if (flags.help) return printHelp(cmd, ["box network connect backend web", "box network connect --ip 10.50.0.9 --alias db backend pg"]);
    const [network, container] = flags.positionals;
    if (container === undefined || flags.positionals.length !== 2) throw new UserError(`"box network connect" requires exactly 2 arguments`);
    const ip = flags.values.ip as string | undefined;
    if (ip !== undefined && !IPV4.test(ip)) throw new UserError(`invalid argument "${ip}" for "--ip" flag: an IPv4 address`);
    // Docker's --alias is a list flag that also splits at commas.
    const aliases = ((flags.values.alias as string[] | undefined) ?? []).flatMap((a) => a.split(",")).map((a) => parseAlias("--alias", a));
    const { connectNetwork } = await import("../container/networks.ts");
    connectNetwork(globals().store, container, network!, { ...(ip !== undefined ? { ip } : {}), ...(aliases.length ? { aliases } : {}) });
  },
});

const disconnectCommand = defineCommand({
  meta: { name: "network disconnect", description: "Disconnect a container from a network (a running one loses its link at once)" },
  args: {
    force: { type: "boolean", alias: "f", description: "Accepted, as Docker's (box has no daemon state to force past)" },
    network: { type: "positional", description: "Network name", required: false },
    container: { type: "positional", description: "Container name or id (prefix)", required: false },
  },
  async run({ rawArgs, cmd }) {
    const flags = parseFlags(rawArgs, cmd.args as never, [], false);
    if (flags.help) return printHelp(cmd, ["box network disconnect backend web"]);
    const [network, container] = flags.positionals;
    if (container === undefined || flags.positionals.length !== 2) throw new UserError(`"box network disconnect" requires exactly 2 arguments`);
    const { disconnectNetwork } = await import("../container/networks.ts");
    disconnectNetwork(globals().store, container, network!);
  },
});

const pruneCommand = defineCommand({
  meta: { name: "network prune", description: "Remove every network no container uses (the default one too; box makes it again when needed)" },
  args: FORCE,
  async run({ rawArgs, cmd }) {
    const flags = parseFlags(rawArgs, cmd.args as never, [], false);
    if (flags.help) return printHelp(cmd, ["box network prune -f"]);
    if (flags.positionals.length) throw new UserError(`"box network prune" accepts no arguments`);
    if (!confirmed(flags.values.force, "box network prune", "every network no container uses")) return;
    const names = pruneNetworks(globals().store);
    if (names.length) process.stdout.write(`Deleted Networks:\n${names.join("\n")}\n\n`);
  },
});

export const networkCommand = defineFamily(
  { name: "network", description: "Manage networks" },
  async () => ({
    create: createCommand,
    ls: lsCommand,
    list: lsCommand,
    inspect: inspectCommand,
    rm: rmCommand,
    remove: rmCommand,
    connect: connectCommand,
    disconnect: disconnectCommand,
    prune: pruneCommand,
  }),
  ["box network create backend", "box network ls", "box network connect backend web", "box network inspect backend", "box network prune -f"],
);

// `box network ls|inspect|rm`: the bridge networks of the store.
import { defineCommand, runCommand, type CommandDef } from "citty";
import { UserError } from "../container/errors.ts";
import { createNetwork, listNetworks, networkMembers, removeNetwork, type NetworkConfig } from "../net/network.ts";
import { macFor } from "../net/endpoint.ts";
import { parseSubnet } from "../net/ipam.ts";
import { globals } from "./context.ts";
import { parseFlags } from "./flags.ts";
import { printHelp } from "./help.ts";
import { table } from "./format.ts";
import { findContainer } from "../container/lookup.ts";
import { exposedPort } from "../image/config.ts";

function describe(n: NetworkConfig): Record<string, unknown> {
  const members = networkMembers(globals().store, n.name);
  return {
    Name: n.name,
    Driver: "bridge",
    Options: { "com.docker.network.bridge.name": n.bridge, "com.docker.network.driver.mtu": String(n.mtu) },
    IPAM: { Driver: "default", Config: [{ Subnet: `${n.subnet}/${n.prefix}`, Gateway: n.gateway }] },
    Containers: Object.fromEntries(members.map((m) => [m.id, { Name: m.name, IPv4Address: `${m.ip}/${n.prefix}`, MacAddress: macFor(m.ip) }])),
  };
}

const lsCommand = defineCommand({
  meta: { name: "network ls", description: "List networks" },
  args: {
    quiet: { type: "boolean", alias: "q", description: "Only names" },
    format: { type: "string", description: "table (default) or json", valueHint: "FORMAT" },
  },
  async run({ rawArgs, cmd }) {
    const flags = parseFlags(rawArgs, cmd.args as never, [], false);
    if (flags.help) return printHelp(cmd, ["box network ls"]);
    const nets = listNetworks(globals().store);
    if (flags.values.quiet) return void process.stdout.write(nets.map((n) => `${n.name}\n`).join(""));
    if (flags.values.format === "json") return void process.stdout.write(nets.map((n) => `${JSON.stringify(describe(n))}\n`).join(""));
    process.stdout.write(table(["NAME", "BRIDGE", "SUBNET", "GATEWAY"], nets.map((n) => [n.name, n.bridge, `${n.subnet}/${n.prefix}`, n.gateway])));
  },
});

const inspectCommand = defineCommand({
  meta: { name: "network inspect", description: "Show networks as JSON" },
  args: { network: { type: "positional", description: "Network names", required: false } },
  async run({ rawArgs, cmd }) {
    const flags = parseFlags(rawArgs, cmd.args as never, [], false);
    if (flags.help) return printHelp(cmd, ["box network inspect bridge"]);
    if (!flags.positionals.length) throw new UserError(`"box network inspect" requires at least 1 argument`);
    const nets = listNetworks(globals().store);
    const found = flags.positionals.map((name) => nets.find((n) => n.name === name) ?? undefined);
    const missing = flags.positionals.filter((_, i) => !found[i]);
    if (missing.length) throw new UserError(`no such network: ${missing.join(", ")}`);
    process.stdout.write(`${JSON.stringify(found.map((n) => describe(n!)), null, 4)}\n`);
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
    for (const name of flags.positionals) {
      removeNetwork(globals().store, name);
      process.stdout.write(`${name}\n`);
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

const SUBCOMMANDS: Record<string, CommandDef<any>> = { create: createCommand, ls: lsCommand, list: lsCommand, inspect: inspectCommand, rm: rmCommand, remove: rmCommand };

export const networkCommand = defineCommand({
  meta: { name: "network", description: "Manage networks (create, ls, inspect, rm)" },
  args: { command: { type: "positional", description: "create, ls, inspect or rm", required: false } },
  async run({ rawArgs, cmd }) {
    const [sub, ...rest] = rawArgs;
    if (sub === undefined || sub === "--help" || sub === "-h") return printHelp(cmd, ["box network create backend", "box network ls", "box network inspect backend", "box network rm backend"]);
    const command = Object.hasOwn(SUBCOMMANDS, sub) ? SUBCOMMANDS[sub] : undefined;
    if (!command) throw new UserError(`unknown command "${sub}" for "box network"; see 'box network --help'`);
    await runCommand(command, { rawArgs: rest });
  },
});

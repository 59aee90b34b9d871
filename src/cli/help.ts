// Help text from citty's command definitions, laid out as Docker's within 80 columns: flags in a
// column on the left, their descriptions wrapped beside it.
import type { ArgDef, CommandDef, CommandMeta, SubCommandsDef } from "citty";
import { aliasesOf, parseFlags } from "./flags.ts";

const BOX = { meta: { name: "box" } } as CommandDef<any>;
const WIDTH = 80;
/** Descriptions start after the longest flag, but no further right than this; a flag that is
 * longer gets its description on the next line. */
const MAX_FLAG_COLUMN = 32;

/**
 * The usage text plus examples. `parent` names the usage line: `box CMD` for commands, nothing
 * for the root command itself.
 */
export async function printHelp(cmd: CommandDef<any>, examples: string[] = [], parent: CommandDef<any> | null = BOX): Promise<void> {
  process.stdout.write(await renderHelp(cmd, examples, parent));
}

/** A command family (box container): its subcommands, and its help when run without one. */
export function defineFamily(meta: CommandMeta, subCommands: () => Promise<SubCommandsDef>, examples: string[]): CommandDef<any> {
  const family: CommandDef<any> = {
    meta,
    subCommands,
    async run({ rawArgs }) {
      parseFlags(rawArgs, {});
      await printHelp(family, examples);
    },
  };
  return family;
}

async function renderHelp(cmd: CommandDef<any>, examples: string[], parent: CommandDef<any> | null): Promise<string> {
  const meta = (await resolve(cmd.meta)) ?? {};
  const name = [(await resolve(parent?.meta))?.name, meta.name].filter(Boolean).join(" ");
  const args = Object.entries((await resolve(cmd.args)) ?? {}) as [string, ArgDef][];
  const positionals = args.filter(([, a]) => a.type === "positional");
  const flags = args.filter(([, a]) => a.type !== "positional");
  const commands = await commandRows(cmd);

  const usage = [name, flags.length ? "[OPTIONS]" : "", commands.length ? "COMMAND" : "", ...positionals.map(([n, a]) => usageWord(n, a))];
  const sections = [wrap(meta.description ?? "", WIDTH).join("\n"), wrap(`USAGE ${usage.filter(Boolean).join(" ")}`, WIDTH, "  ").join("\n")];
  if (positionals.length) sections.push(`ARGUMENTS\n${columns(positionals.map(([n, a]) => [n.toUpperCase(), a.description ?? ""]))}`);
  if (flags.length) sections.push(`OPTIONS\n${columns(flags.map(([n, a]) => [flagLabel(n, a), describe(a)]))}`);
  if (commands.length) sections.push(`COMMANDS\n${columns(commands)}\n\nRun '${name} COMMAND --help' for more information on a command.`);
  if (examples.length) sections.push(`EXAMPLES\n${examples.map(exampleLines).join("\n")}`);
  return `${sections.join("\n\n")}\n`;
}

type Resolvable<T> = T | Promise<T> | (() => T) | (() => Promise<T>);

/** A citty field that may be given as a value, a promise or a function (lazy subcommands). */
export async function resolve<T>(value: Resolvable<T> | undefined): Promise<T | undefined> {
  return typeof value === "function" ? (value as () => T | Promise<T>)() : value;
}

/** A command family's subcommands, one row per command: the names that run it, its description. */
async function commandRows(cmd: CommandDef<any>): Promise<[string, string][]> {
  const table = (await resolve(cmd.subCommands)) ?? {};
  const rows = new Map<CommandDef<any>, { names: string[]; description: string }>();
  for (const [name, sub] of Object.entries(table)) {
    const def = (await resolve(sub)) as CommandDef<any>;
    const meta = await resolve(def.meta);
    if (meta?.hidden) continue;
    const row = rows.get(def) ?? { names: [], description: meta?.description ?? "" };
    row.names.push(name);
    rows.set(def, row);
  }
  return [...rows.values()].map((r) => [r.names.join(", "), r.description]);
}

function usageWord(name: string, arg: ArgDef): string {
  const word = arg.required === false ? `[${name.toUpperCase()}]` : name.toUpperCase();
  return arg.valueHint ? `${word} [${arg.valueHint}]` : word;
}

/** `-e, --env KEY=VALUE`; a flag without a short one is indented to line up with those that have. */
function flagLabel(name: string, arg: ArgDef): string {
  const aliases = aliasesOf(arg);
  const short = aliases.filter((a) => a.length === 1).map((a) => `-${a}`);
  const long = [name, ...aliases.filter((a) => a.length > 1)].map((a) => `--${a}`);
  const value = arg.type === "boolean" ? "" : ` ${arg.valueHint ?? "string"}`;
  return `${short.length ? `${short.join(", ")}, ` : "    "}${long.join(", ")}${value}`;
}

function describe(arg: ArgDef): string {
  const text = arg.description ?? "";
  if (arg.default === undefined) return text;
  return `${text} (default ${typeof arg.default === "string" ? JSON.stringify(arg.default) : String(arg.default)})`;
}

/** Two columns: labels left, descriptions wrapped to the width beside them. */
export function columns(rows: [string, string][]): string {
  const widest = Math.max(...rows.map(([label]) => label.length));
  const column = 2 + Math.min(widest, MAX_FLAG_COLUMN) + 3;
  const out: string[] = [];
  for (const [label, text] of rows) {
    const lines = wrap(text, WIDTH - column);
    const first = `  ${label}`;
    if (first.length + 1 > column && lines.length) out.push(first);
    else out.push(`${first.padEnd(column)}${lines.shift() ?? ""}`.trimEnd());
    out.push(...lines.map((l) => `${" ".repeat(column)}${l}`));
  }
  return out.join("\n");
}

/** Words into lines of at most `width` characters (a longer word is cut); `indent` starts every
 * line after the first. */
export function wrap(text: string, width = WIDTH, indent = ""): string[] {
  const lines: string[] = [];
  let line = "";
  for (let word of text.split(/\s+/).filter(Boolean)) {
    const room = () => width - (lines.length ? indent.length : 0);
    if (line && line.length + 1 + word.length <= room()) {
      line += ` ${word}`;
      continue;
    }
    if (line) lines.push(line);
    while (word.length > room()) {
      lines.push(word.slice(0, room()));
      word = word.slice(room());
    }
    line = word;
  }
  if (line) lines.push(line);
  return lines.map((l, i) => (i ? indent + l : l));
}

/** An example as a shell would take it: a long one continues on the next line after a `\`. */
function exampleLines(example: string): string {
  if (example.length <= WIDTH - 2) return `  ${example}`;
  return wrap(example, WIDTH - 4, "    ")
    .map((l, i, all) => `  ${l}${i < all.length - 1 ? " \\" : ""}`)
    .join("\n");
}

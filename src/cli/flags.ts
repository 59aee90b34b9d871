// Docker-style flag parsing over citty's argument definitions: flags stop at the first
// positional (so `box run IMAGE sh -c ...` leaves `-c` to the payload), repeated flags
// accumulate, short booleans combine (`-it`), and an unknown flag is one clear error.
import type { ArgDef, ArgsDef } from "citty";
import { UserError } from "../container/errors.ts";
import { signalNumber } from "../sys/process.ts";

export interface ParsedFlags {
  values: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
  help: boolean;
}

interface FlagInfo {
  name: string;
  type: "boolean" | "string";
  list: boolean;
}

/** A flag's other names: one letter for `-e`, longer ones for `--net`. */
export function aliasesOf(def: ArgDef): string[] {
  const alias = (def as { alias?: string | string[] }).alias;
  return alias === undefined ? [] : Array.isArray(alias) ? alias : [alias];
}

/** `lists` names the string flags that may repeat (-e, -v, ...). */
export function parseFlags(argv: string[], defs: ArgsDef, lists: string[] = [], stopAtPositional = true): ParsedFlags {
  const byName = new Map<string, FlagInfo>();
  for (const [name, def] of Object.entries(defs)) {
    if (def.type === "positional") continue;
    const info: FlagInfo = { name, type: def.type === "boolean" ? "boolean" : "string", list: lists.includes(name) };
    byName.set(`--${name}`, info);
    for (const a of aliasesOf(def)) byName.set(a.length === 1 ? `-${a}` : `--${a}`, info);
  }
  const values: ParsedFlags["values"] = {};
  const positionals: string[] = [];
  let help = false;
  const set = (f: FlagInfo, v: string | boolean) => {
    if (f.list) (values[f.name] as string[] | undefined)?.push(v as string) ?? (values[f.name] = [v as string]);
    else values[f.name] = v;
  };
  const boolValue = (flag: string, v: string) => {
    if (v === "true" || v === "1") return true;
    if (v === "false" || v === "0") return false;
    throw new UserError(`invalid value "${v}" for flag ${flag}: expected true or false`);
  };

  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--") {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (arg === "--help" || arg === "-h") {
      help = true;
      continue;
    }
    if (!arg.startsWith("-") || arg === "-") {
      if (stopAtPositional) {
        positionals.push(...argv.slice(i));
        break;
      }
      positionals.push(arg);
      continue;
    }
    if (arg.startsWith("--")) {
      const eq = arg.indexOf("=");
      const key = eq < 0 ? arg : arg.slice(0, eq);
      const f = byName.get(key);
      if (!f) throw new UserError(`unknown flag: ${key}`);
      if (f.type === "boolean") {
        set(f, eq < 0 ? true : boolValue(key, arg.slice(eq + 1)));
      } else if (eq >= 0) {
        set(f, arg.slice(eq + 1));
      } else {
        if (i + 1 >= argv.length) throw new UserError(`flag needs an argument: ${key}`);
        set(f, argv[++i]!);
      }
      continue;
    }
    // -abc: booleans combine; a string flag takes the rest of the word or the next argument.
    for (let j = 1; j < arg.length; j++) {
      const key = `-${arg[j]}`;
      const f = byName.get(key);
      if (!f) throw new UserError(`unknown shorthand flag: '${arg[j]}' in ${arg}`);
      if (f.type === "boolean") {
        set(f, true);
        continue;
      }
      let v = arg.slice(j + 1);
      if (v.startsWith("=")) v = v.slice(1);
      if (v === "") {
        if (i + 1 >= argv.length) throw new UserError(`flag needs an argument: '${arg[j]}' in ${arg}`);
        v = argv[++i]!;
      }
      set(f, v);
      break;
    }
  }
  return { values, positionals, help };
}

/** A signal by name (SIGTERM, TERM) or number. */
export function parseSignal(text: string): number {
  const n = signalNumber(text);
  if (n === undefined) throw new UserError(`invalid signal "${text}"`);
  return n;
}

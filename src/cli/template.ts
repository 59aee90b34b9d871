// `--format '{{.State.Pid}}'`: the part of Go's text/template that scripts use with docker
// inspect: field paths, `json`, `index`, and literal text around them.
import { UserError } from "../container/errors.ts";

function lookup(data: unknown, path: string): unknown {
  if (path === ".") return data;
  if (!/^(\.[A-Za-z_][A-Za-z0-9_]*)+$/.test(path)) throw new UserError(`template: cannot evaluate "${path}": expected a field path like .State.Pid`);
  let v: unknown = data;
  for (const key of path.slice(1).split(".")) {
    if (v === null || typeof v !== "object" || !(key in v)) throw new UserError(`template: no field "${key}" in ${path}`);
    v = (v as Record<string, unknown>)[key];
  }
  return v;
}

/** Go's default printing for what scripts read: strings as they are, null as <nil>, the rest as JSON. */
function show(v: unknown): string {
  if (typeof v === "string") return v;
  if (v === null || v === undefined) return "<nil>";
  return typeof v === "object" ? JSON.stringify(v) : String(v);
}

function evaluate(action: string, data: unknown): string {
  const words = action.trim().match(/"(?:[^"\\]|\\.)*"|\S+/g) ?? [];
  const [fn, ...args] = words;
  if (fn === "json" && args.length === 1) return JSON.stringify(lookup(data, args[0]!) ?? null);
  if (fn === "index" && args.length === 2) {
    const container = lookup(data, args[0]!);
    const key = JSON.parse(args[1]!) as string;
    return show(container && typeof container === "object" ? (container as Record<string, unknown>)[key] : undefined);
  }
  if (words.length === 1 && fn!.startsWith(".")) return show(lookup(data, fn!));
  throw new UserError(`template: unsupported action "{{${action}}}" (field paths, json and index are)`);
}

export function renderTemplate(template: string, data: unknown): string {
  let out = "";
  let rest = template;
  for (let open = rest.indexOf("{{"); open >= 0; open = rest.indexOf("{{")) {
    const close = rest.indexOf("}}", open);
    if (close < 0) throw new UserError(`template: unclosed action in "${template}"`);
    out += rest.slice(0, open) + evaluate(rest.slice(open + 2, close), data);
    rest = rest.slice(close + 2);
  }
  return out + rest;
}

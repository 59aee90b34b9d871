// The functions a template can call: Go's builtins and the ones Docker's CLI adds (json, join,
// split, lower, upper, title, pad, truncate), plus the stand-ins Docker uses when it renders a
// table's header row through the same template.
import { isMap, printValue, toJSON, truth, typeName, type Value } from "./template-values.ts";

/** A failed call: Go prints "error calling NAME: message" unless `bare` (a wrong argument type). */
export class CallError extends Error {
  constructor(
    message: string,
    readonly bare = false,
  ) {
    super(message);
  }
}

export interface TemplateFunc {
  /** how many arguments it takes: [least, most] */
  arity: [number, number];
  call: (args: Value[]) => Value;
}

const fn = (least: number, most: number, call: (args: Value[]) => Value): TemplateFunc => ({ arity: [least, most], call });

function want<T>(v: Value, kind: "string" | "int", check: (v: Value) => v is T): T {
  if (!check(v)) throw new CallError(`wrong type for value; expected ${kind}; got ${typeName(v)}`, true);
  return v;
}
const str = (v: Value) => want(v, "string", (x): x is string => typeof x === "string");
const int = (v: Value) => want(v, "int", (x): x is number => Number.isInteger(x));

type Kind = "bool" | "number" | "string" | "nil";
function basicKind(v: Value): Kind {
  if (v === undefined || v === null) return "nil";
  if (typeof v === "boolean") return "bool";
  if (typeof v === "number") return "number";
  if (typeof v === "string") return "string";
  throw new CallError("invalid type for comparison");
}

/** eq: arg1 equals any of the others; only basic kinds compare, and only with their own kind. */
function eq(args: Value[]): boolean {
  const [first, ...rest] = args;
  const k = basicKind(first);
  return rest.some((other) => {
    const ko = basicKind(other);
    if (k === "nil" || ko === "nil") return k === ko;
    if (k !== ko) throw new CallError("incompatible types for comparison");
    return first === other;
  });
}

function less(a: Value, b: Value): boolean {
  const k = basicKind(a);
  if (k !== basicKind(b)) throw new CallError("incompatible types for comparison");
  if (k !== "number" && k !== "string") throw new CallError("invalid type for comparison");
  return (a as number | string) < (b as number | string);
}

/** Go's len: bytes of a string, items of a slice or map. */
function len(v: Value): number {
  if (typeof v === "string") return Buffer.byteLength(v);
  if (Array.isArray(v)) return v.length;
  if (isMap(v)) return Object.keys(v).length;
  throw new CallError(`len of type ${typeName(v)}`);
}

/**
 * index: a slice by position, a map by key. A key the map lacks gives the zero value of its
 * values: "" for string maps (labels, as Docker's typed map[string]string), else nil.
 */
function index(args: Value[]): Value {
  let v = args[0];
  for (const key of args.slice(1)) {
    if (Array.isArray(v) || typeof v === "string") {
      const i = int(key);
      if (i < 0 || i >= v.length) throw new CallError(`index out of range: ${i}`);
      v = typeof v === "string" ? v.charCodeAt(i) : v[i];
    } else if (v === undefined || v === null || isMap(v)) {
      const map = (v ?? {}) as Record<string, Value>;
      const k = str(key);
      v = Object.hasOwn(map, k) ? map[k] : Object.values(map).every((x) => typeof x === "string") ? "" : null;
    } else {
      throw new CallError(`can't index item of type ${typeName(v)}`);
    }
  }
  return v;
}

function slice(args: Value[]): Value {
  const [v, ...bounds] = args;
  if (typeof v !== "string" && !Array.isArray(v)) throw new CallError(`can't slice item of type ${typeName(v)}`);
  if (bounds.length > 2 && typeof v === "string") throw new CallError("cannot 3-index slice a string");
  const [from = 0, to = v.length] = bounds.map(int);
  if (from < 0 || to > v.length || from > to) throw new CallError(`index out of range: ${from > to ? from : to}`);
  return v.slice(from, to);
}

/** fmt.Sprint: operands side by side, a space between two that are neither strings. */
function sprint(args: Value[]): string {
  let out = "";
  args.forEach((a, i) => {
    if (i > 0 && typeof a !== "string" && typeof args[i - 1] !== "string") out += " ";
    out += printValue(a, true);
  });
  return out;
}

/** fmt.Sprintf for the verbs templates use: %v %s %q %d %t %f %e %g %x %X %o %b %c %%, with flags, width and precision. */
function sprintf(args: Value[]): string {
  const format = str(args[0]);
  let next = 1;
  return format.replace(/%([-+# 0]*)(\d+)?(?:\.(\d+))?([a-zA-Z%])/g, (_, flags: string, width?: string, prec?: string, verb?: string) => {
    if (verb === "%") return "%";
    if (next >= args.length) return `%!${verb}(MISSING)`;
    const v = args[next++];
    const p = prec === undefined ? undefined : Number(prec);
    let s: string;
    switch (verb) {
      case "v":
      case "s":
        s = printValue(v, true);
        if (p !== undefined) s = s.slice(0, p);
        break;
      case "q":
        s = typeof v === "string" ? JSON.stringify(v) : `%!q(${typeName(v)}=${printValue(v, true)})`;
        break;
      case "d":
        s = Number.isInteger(v) ? String(v) : `%!d(${typeName(v)}=${printValue(v, true)})`;
        break;
      case "t":
        s = typeof v === "boolean" ? String(v) : `%!t(${typeName(v)}=${printValue(v, true)})`;
        break;
      case "f":
      case "F":
      case "e":
      case "g":
        if (typeof v !== "number") s = `%!${verb}(${typeName(v)}=${printValue(v, true)})`;
        else if (verb === "e") s = v.toExponential(p ?? 6).replace(/e([+-])(\d)$/, "e$10$2");
        else if (verb === "g") s = p === undefined ? printValue(v) : String(Number(v.toPrecision(p)));
        else s = v.toFixed(p ?? 6);
        if (typeof v === "number" && flags.includes("+") && v >= 0) s = `+${s}`;
        break;
      case "x":
      case "X":
      case "o":
      case "b": {
        const radix = { x: 16, X: 16, o: 8, b: 2 }[verb];
        s = typeof v === "number" ? Math.trunc(v).toString(radix) : typeof v === "string" ? Buffer.from(v).toString("hex") : `%!${verb}(${typeName(v)}=${printValue(v, true)})`;
        if (verb === "X") s = s.toUpperCase();
        break;
      }
      case "c":
        s = typeof v === "number" ? String.fromCodePoint(v) : `%!c(${typeName(v)}=${printValue(v, true)})`;
        break;
      default:
        s = `%!${verb}(${typeName(v)}=${printValue(v, true)})`;
    }
    const w = width === undefined ? 0 : Number(width);
    if (s.length >= w) return s;
    if (flags.includes("-")) return s.padEnd(w);
    return flags.includes("0") && /^[+-]?[\d.]/.test(s) ? (/^[+-]/.test(s) ? s[0] + s.slice(1).padStart(w - 1, "0") : s.padStart(w, "0")) : s.padStart(w);
  }) + (next < args.length ? `%!(EXTRA ${args.slice(next).map((a) => `${typeName(a)}=${printValue(a, true)}`).join(", ")})` : "");
}

/** Docker's join: strings joined; other slices item by item; a map's values sorted. */
function join(list: Value, sep: Value): string {
  const s = str(sep);
  if (list === undefined || list === null) return "";
  if (Array.isArray(list)) return list.map((x) => printValue(x, true)).join(s);
  if (isMap(list)) return Object.values(list).map((x) => printValue(x, true)).sort().join(s);
  throw new CallError(`expected slice, got ${typeName(list)}`);
}

/** strings.Title: the first letter of every word upper-cased; words end at what is no letter, digit or _. */
function title(s: string): string {
  let prev = " ";
  let out = "";
  for (const c of s) {
    const separator = c.charCodeAt(0) < 0x80 ? !/[A-Za-z0-9_]/.test(c) : /\s/u.test(c);
    const prevSeparator = prev.charCodeAt(0) < 0x80 ? !/[A-Za-z0-9_]/.test(prev) : /\s/u.test(prev);
    out += prevSeparator && !separator ? c.toUpperCase() : c;
    prev = c;
  }
  return out;
}

export const FUNCS: Record<string, TemplateFunc> = {
  // and/or are evaluated lazily by the executor (Go's short-circuit); these are their values.
  and: fn(1, Infinity, (a) => a.find((x) => !truth(x)) ?? a.at(-1)),
  or: fn(1, Infinity, (a) => a.find((x) => truth(x)) ?? a.at(-1)),
  not: fn(1, 1, ([v]) => !truth(v)),
  eq: fn(2, Infinity, eq),
  ne: fn(2, 2, (a) => !eq(a)),
  lt: fn(2, 2, ([a, b]) => less(a, b)),
  le: fn(2, 2, ([a, b]) => less(a, b) || eq([a, b])),
  gt: fn(2, 2, ([a, b]) => !less(a, b) && !eq([a, b])),
  ge: fn(2, 2, ([a, b]) => !less(a, b)),
  len: fn(1, 1, ([v]) => len(v)),
  index: fn(1, Infinity, index),
  slice: fn(1, 4, slice),
  print: fn(0, Infinity, sprint),
  println: fn(0, Infinity, (a) => `${a.map((x) => printValue(x, true)).join(" ")}\n`),
  printf: fn(1, Infinity, sprintf),
  json: fn(1, 1, ([v]) => toJSON(v)),
  split: fn(2, 2, ([s, sep]) => str(s).split(str(sep))),
  join: fn(2, 2, ([list, sep]) => join(list, sep)),
  title: fn(1, 1, ([s]) => title(str(s))),
  lower: fn(1, 1, ([s]) => str(s).toLowerCase()),
  upper: fn(1, 1, ([s]) => str(s).toUpperCase()),
  pad: fn(3, 3, ([s, before, after]) => (str(s) === "" ? "" : " ".repeat(Math.max(0, int(before))) + s + " ".repeat(Math.max(0, int(after))))),
  truncate: fn(2, 2, ([s, n]) => (str(s).length < int(n) ? s : str(s).slice(0, int(n)))),
};

/** Docker's header functions: a table's header row shows the column's name, not what json,
 * split, join, title, lower, upper or truncate would make of it (pad stays, to keep alignment). */
const keep = (least: number) => fn(least, least, ([v]) => v);
export const HEADER_FUNCS: Record<string, TemplateFunc> = {
  ...FUNCS,
  json: keep(1),
  split: keep(2),
  join: keep(2),
  title: keep(1),
  lower: keep(1),
  upper: keep(1),
  truncate: keep(2),
};

// How Go's text/template sees box's values: JavaScript data standing for Go's kinds (string,
// int, float64, bool, nil, slices, maps) and for the structs Docker's formatters hand to a
// template, and how Go's fmt prints each of them.

/** Marks an object as a Go struct: a field it lacks is an error, not a map's missing key. */
const STRUCT = Symbol("go struct");

/** `undefined` is Go's invalid value: a map's missing key, printed "<no value>". */
export type Value = unknown;

/**
 * A row for a template, as Docker's formatter contexts are: its fields (getters are computed only
 * when a template reads them, as Docker's Size is) and methods that take arguments (`.Label "k"`).
 * `type` names it in errors, as Go does: "can't evaluate field X in type *formatter.ContainerContext".
 */
export function goStruct<T extends object>(type: string, fields: T): T {
  Object.defineProperty(fields, STRUCT, { value: type, enumerable: false });
  return fields;
}

export function structType(v: Value): string | undefined {
  return v !== null && typeof v === "object" ? (v as Record<symbol, string | undefined>)[STRUCT] : undefined;
}

export function isMap(v: Value): v is Record<string, Value> {
  return v !== null && typeof v === "object" && !Array.isArray(v) && structType(v) === undefined;
}

/** Go's name for the value's type, for error messages. */
export function typeName(v: Value): string {
  if (v === undefined || v === null) return "<nil>";
  if (typeof v === "string") return "string";
  if (typeof v === "boolean") return "bool";
  if (typeof v === "number") return Number.isInteger(v) ? "int" : "float64";
  if (typeof v === "function") return "func";
  if (Array.isArray(v)) return "[]interface {}";
  return structType(v) ?? "map[string]interface {}";
}

/** Go's truth for if, with, and, or, not: the zero value of every kind is false, a struct is true. */
export function truth(v: Value): boolean {
  if (v === undefined || v === null) return false;
  if (Array.isArray(v)) return v.length > 0;
  if (typeof v === "object") return structType(v) !== undefined || Object.keys(v).length > 0;
  return Boolean(v);
}

/** A whole number is Go's int; any other is fmt's %v of a float64 (shortest %g: 1.5, 1.2345675e+06). */
function formatFloat(n: number): string {
  if (Number.isInteger(n) && Math.abs(n) < 1e21) return String(n);
  if (!Number.isFinite(n)) return Number.isNaN(n) ? "NaN" : n > 0 ? "+Inf" : "-Inf";
  const exp = Math.floor(Math.log10(Math.abs(n)));
  if (exp < -4 || exp >= 6) return n.toExponential().replace(/e([+-])(\d)$/, "e$10$2");
  return String(n);
}

/** fmt.Sprint's %v, as a template prints a value: maps as map[k:v] with sorted keys, slices as [a b]. */
export function printValue(v: Value, nested = false): string {
  if (v === undefined) return nested ? "<nil>" : "<no value>";
  if (v === null) return "<nil>";
  if (typeof v === "string") return v;
  if (typeof v === "number") return formatFloat(v);
  if (typeof v === "boolean") return String(v);
  if (typeof v === "function") return "<func>";
  if (Array.isArray(v)) return `[${v.map((x) => printValue(x, true)).join(" ")}]`;
  const entries = Object.entries(v as object).filter(([, x]) => typeof x !== "function");
  if (structType(v) !== undefined) return `{${entries.map(([, x]) => printValue(x, true)).join(" ")}}`;
  return `map[${entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, x]) => `${k}:${printValue(x, true)}`).join(" ")}]`;
}

/**
 * encoding/json as Docker's `json` function uses it: no HTML escaping; a struct row becomes the
 * map of its fields (sorted keys, as Docker's MarshalJSON makes them), methods with arguments left out.
 */
export function toJSON(v: Value, indent?: number): string {
  const plain = (x: Value): Value => {
    if (x === undefined) return null;
    if (Array.isArray(x)) return x.map(plain);
    if (x === null || typeof x !== "object") return x;
    const keys = Object.keys(x).filter((k) => typeof (x as Record<string, Value>)[k] !== "function");
    if (structType(x) !== undefined) keys.sort();
    return Object.fromEntries(keys.map((k) => [k, plain((x as Record<string, Value>)[k])]));
  };
  return JSON.stringify(plain(v), null, indent);
}

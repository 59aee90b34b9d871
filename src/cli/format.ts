// Output shapes shared by listing commands, as Docker's CLI prints them: `--format` (table,
// json, a template), its tab-aligned tables, sizes and relative times.
import { humanDuration } from "../container/describe.ts";
import { HEADER_FUNCS } from "./template-funcs.ts";
import { parseTemplate, type Template } from "./template.ts";
import type { Value } from "./template-values.ts";

/** "3 minutes ago", as `docker images` and `docker ps` print it. */
export function ago(iso: string, now = Date.now()): string {
  return `${humanDuration(now - Date.parse(iso))} ago`;
}

/** Go's time.Time String() of a whole second, as Docker's CreatedAt: "2024-05-01 10:20:30 +0000 UTC". */
export function createdAt(iso: string): string {
  const t = new Date(Date.parse(iso));
  const offset = -t.getTimezoneOffset();
  const local = new Date(t.getTime() + offset * 60_000).toISOString().slice(0, 19).replace("T", " ");
  const sign = offset < 0 ? "-" : "+";
  const hhmm = `${String(Math.floor(Math.abs(offset) / 60)).padStart(2, "0")}${String(Math.abs(offset) % 60).padStart(2, "0")}`;
  const zone = offset === 0 ? "UTC" : (new Intl.DateTimeFormat("en-US", { timeZoneName: "short" }).formatToParts(t).find((p) => p.type === "timeZoneName")?.value ?? "");
  return `${local} ${sign}${hhmm} ${zone}`;
}

/** Docker's Ellipsis: cut to `max` characters, the last one "…". */
export function ellipsis(text: string, max: number): string {
  return [...text].length <= max ? text : `${[...text].slice(0, max - 1).join("")}…`;
}

/** Go's %.Ng: N significant digits, trailing zeros dropped, an exponent from 10^N. */
function significant(n: number, digits: number): string {
  const [mantissa, exp] = n.toPrecision(digits).split("e");
  const trimmed = mantissa!.includes(".") ? mantissa!.replace(/\.?0+$/, "") : mantissa!;
  return exp === undefined ? trimmed : `${trimmed}e${exp[0]}${exp.slice(1).padStart(2, "0")}`;
}

function scaled(n: number, base: number, units: string[], digits: number): string {
  let i = 0;
  while (n >= base && i < units.length - 1) {
    n /= base;
    i++;
  }
  return `${significant(n, digits)}${units[i]}`;
}

const DECIMAL = ["B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"];
const BINARY = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB"];

/** go-units' HumanSizeWithPrecision: "4.26MB" (3 digits, Docker's sizes in lists) or 4 (HumanSize). */
export function humanSize(n: number, digits = 3): string {
  return scaled(n, 1000, DECIMAL, digits);
}

/** go-units' BytesSize: "1.465MiB", as docker stats prints memory. */
export function bytesSize(n: number): string {
  return scaled(n, 1024, BINARY, 4);
}

/**
 * Docker's tabwriter (Go's text/tabwriter; minimum width 10, padding 3, spaces): a cell ends at a
 * tab, and each column of consecutive lines that have it is as wide as its widest cell plus the
 * padding. The last cell of a line is no column's and is not padded.
 */
export function tabwrite(text: string, minWidth = 10, padding = 3): string {
  const lines = text.split("\n").map((l) => l.split("\t"));
  const widths: number[] = [];
  let out = "";
  const writeLines = (from: number, to: number) => {
    for (let i = from; i < to; i++) {
      lines[i]!.forEach((cell, j) => {
        out += cell;
        if (j < widths.length) out += " ".repeat(Math.max(0, widths[j]! - Bun.stringWidth(cell)));
      });
      if (i + 1 < lines.length) out += "\n";
    }
  };
  const format = (line0: number, line1: number) => {
    const column = widths.length;
    for (let at = line0; at < line1; at++) {
      if (column >= lines[at]!.length - 1) continue;
      writeLines(line0, at);
      line0 = at;
      let width = minWidth;
      for (; at < line1 && column < lines[at]!.length - 1; at++) width = Math.max(width, Bun.stringWidth(lines[at]![column]!) + padding);
      widths.push(width);
      format(line0, at);
      widths.pop();
      line0 = at;
    }
    writeLines(line0, line1);
  };
  format(0, lines.length);
  return out;
}

/** Columns padded to the widest cell, three spaces apart (box's own tables: info, top). */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  return [header, ...rows].map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]! + 3))).join("").trimEnd()).join("\n") + "\n";
}

/** What a listing command tells the formatter: its default table and its columns' headers. */
export interface Listing {
  /** e.g. "table {{.ID}}\t{{.Names}}" */
  table: string;
  /** a column's header by field name, as Docker's SubHeaderContext: {ID: "CONTAINER ID"} */
  headers: Record<string, string>;
}

/** A parsed --format: a table (header row and aligned columns) or a line per row. */
export interface ListFormat {
  isTable: boolean;
  template: Template;
}

/**
 * Docker's --format: nothing or "table" is the default table; "json" a JSON object per row;
 * "table TEMPLATE" a table of the template's columns; anything else a template per row. Spaces
 * around it go, and a `\t` or `\n` typed literally is a tab or a newline. Parsed before any work,
 * so a bad template fails first.
 */
export function listFormat(format: string | undefined, listing: Listing): ListFormat {
  let text = format === undefined || format === "" || format === "table" ? listing.table : format === "json" ? "{{json .}}" : format;
  const isTable = text.startsWith("table");
  if (isTable) text = text.slice("table".length);
  text = text.replace(/^ +| +$/g, "").replaceAll("\\t", "\t").replaceAll("\\n", "\n");
  return { isTable, template: parseTemplate(text) };
}

/** The rows through the format: with a table, a header row (the template over the headers) first. */
export function renderList(format: ListFormat, rows: Value[], listing: Listing): string {
  const body = rows.map((row) => `${format.template.render(row)}\n`).join("");
  if (!format.isTable) return body;
  let header = "";
  try {
    const headers = { ...listing.headers, Label: (name: string) => name.split(".").at(-1)!.replace(/[-_]/g, " ") };
    header = format.template.render(headers, { funcs: HEADER_FUNCS });
  } catch {
    // As Docker's: a header the template cannot make is left out, the rows still print.
  }
  return tabwrite(`${header}\n${body}`);
}

/** listFormat and renderList in one, written to stdout. */
export function printList(format: string | undefined, rows: () => Value[], listing: Listing): void {
  const parsed = listFormat(format, listing);
  process.stdout.write(renderList(parsed, rows(), listing));
}

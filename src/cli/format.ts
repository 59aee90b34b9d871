// Output shapes shared by listing commands: Docker-style tables and relative times.

/** "3 minutes ago", as `docker images` and `docker ps` print it. */
export function ago(iso: string, now = Date.now()): string {
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  const units: [number, string][] = [[86400 * 365, "year"], [86400 * 30, "month"], [86400 * 7, "week"], [86400, "day"], [3600, "hour"], [60, "minute"]];
  for (const [size, name] of units) {
    const n = Math.floor(s / size);
    if (n >= 1) return `${n === 1 ? (name === "hour" ? "An" : "A") : n} ${name}${n === 1 ? "" : "s"} ago`;
  }
  return s < 1 ? "Less than a second ago" : `${s} second${s === 1 ? "" : "s"} ago`;
}

/** Columns padded to the widest cell, three spaces apart. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  return [header, ...rows].map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]! + 3))).join("").trimEnd()).join("\n") + "\n";
}

/** 1.5MiB, 12.3kB: Docker's short units (binary for memory, decimal for I/O). */
export function humanSize(n: number, binary: boolean): string {
  const base = binary ? 1024 : 1000;
  const units = binary ? ["B", "KiB", "MiB", "GiB", "TiB"] : ["B", "kB", "MB", "GB", "TB"];
  let i = 0;
  while (n >= base && i < units.length - 1) {
    n /= base;
    i++;
  }
  return `${i === 0 ? n : n.toFixed(n < 10 ? 2 : 1)}${units[i]}`;
}

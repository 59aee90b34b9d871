// A benchmark run alone rewrites only its own section of BENCHMARKS.md (or adds it before the notes).
import { readFileSync, writeFileSync } from "node:fs";

export function writeSection(file: string, heading: string, section: string): void {
  const doc = readFileSync(file, "utf8");
  const start = doc.indexOf(heading);
  const after = start < 0 ? -1 : doc.slice(start + 1).search(/\n#{2,3} /);
  const next = after < 0 ? -1 : start + 1 + after;
  const notes = doc.indexOf("### Notes");
  const updated =
    start >= 0 ? `${doc.slice(0, start)}${section}\n${next < 0 ? "" : doc.slice(next + 1)}` : notes >= 0 ? `${doc.slice(0, notes)}${section}\n${doc.slice(notes)}` : `${doc.trimEnd()}\n\n${section}`;
  writeFileSync(file, updated);
}

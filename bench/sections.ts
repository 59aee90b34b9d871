// A benchmark run alone rewrites only its own section of BENCHMARKS.md (or adds it before the notes).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { busyboxRootfs } from "../test/helpers/rootfs.ts";

/** The repository, the executable the benchmarks time, and the file they write their results to. */
export const REPO = resolve(import.meta.dir, "..");
export const BOX = join(REPO, "dist/box");
export const OUT = join(REPO, "BENCHMARKS.md");

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

/**
 * A benchmark run alone: in a temporary directory (removed after, also on failure) with a busybox
 * rootfs of its own, its section printed and written in place of the one under `heading`.
 */
export async function runAlone(file: string, heading: string, bench: (o: { tmp: string; rootfs: string }) => string | Promise<string>): Promise<void> {
  const tmp = mkdtempSync(join(tmpdir(), "box-bench-"));
  try {
    const section = await bench({ tmp, rootfs: busyboxRootfs(join(tmp, "rootfs")) });
    console.log(section);
    writeSection(file, heading, section);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

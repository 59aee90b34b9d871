// Image layers and `docker save` directories made by hand, for tests that need images of a given
// shape: whiteouts, many layers, configs, hostile documents.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** A layer tar of `files` (path → content; "" makes an empty file, so ".wh.x" is a whiteout). */
export function layerTar(out: string, files: Record<string, string>): string {
  const stage = mkdtempSync(`${out}.stage-`);
  try {
    for (const [path, content] of Object.entries(files)) {
      mkdirSync(join(stage, path, ".."), { recursive: true });
      if (path.endsWith("/")) mkdirSync(join(stage, path), { recursive: true });
      else writeFileSync(join(stage, path), content);
    }
    const r = Bun.spawnSync(["tar", "--numeric-owner", "--owner=0", "--group=0", "-C", stage, "-cf", out, "."], { stderr: "pipe" });
    if (r.exitCode !== 0) throw new Error(`tar: ${r.stderr}`);
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
  return out;
}

export function sha256Hex(data: Uint8Array | string): string {
  return new Bun.CryptoHasher("sha256").update(data).digest("hex");
}

export interface SavedImage {
  layers: string[];
  config?: Record<string, unknown>;
  tags?: string[];
}

/** A `docker save` directory (Docker ≤ 24's shape: <id>.json, <n>/layer.tar, manifest.json). */
export function dockerSaveDir(dir: string, images: SavedImage[]): string[] {
  mkdirSync(dir, { recursive: true });
  const entries = [];
  const ids: string[] = [];
  for (const image of images) {
    const layers = image.layers.map((file, i) => {
      const bytes = readFileSync(file);
      const hex = sha256Hex(bytes);
      mkdirSync(join(dir, hex), { recursive: true });
      writeFileSync(join(dir, hex, "layer.tar"), bytes);
      return { path: `${hex}/layer.tar`, diffId: `sha256:${hex}`, i };
    });
    const config = JSON.stringify({
      architecture: "amd64",
      os: "linux",
      config: image.config ?? {},
      rootfs: { type: "layers", diff_ids: layers.map((l) => l.diffId) },
    });
    const id = sha256Hex(config);
    writeFileSync(join(dir, `${id}.json`), config);
    ids.push(id);
    entries.push({ Config: `${id}.json`, RepoTags: image.tags ?? [], Layers: layers.map((l) => l.path) });
  }
  writeFileSync(join(dir, "manifest.json"), JSON.stringify(entries));
  return ids;
}

// --output: the built image's files, merged as a container would see them, also as a tar archive
// (a file, or standard output) or unpacked into a directory, as BuildKit's tar and local exporters.
import { closeSync, openSync, constants } from "node:fs";
import { join, resolve } from "../path.ts";
import { close, holdLock, mkdirs, removeTree } from "../sys/fs.ts";
import { randomHex } from "../random.ts";
import { TarWriter } from "../image/tar-writer.ts";
import { archiveMerged } from "../image/tree-archive.ts";
import { extractInto } from "./archive.ts";

export async function exportBuild(root: string, layerDirs: string[], output: { type: "tar" | "local"; dest: string }): Promise<void> {
  if (output.type === "tar" && output.dest === "-") return writeTar(1, layerDirs);
  if (output.type === "tar") {
    const fd = openSync(resolve(output.dest), constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC, 0o644);
    try {
      return writeTar(fd, layerDirs);
    } finally {
      closeSync(fd);
    }
  }
  const temp = join(root, "tmp", `output-${randomHex(8)}`);
  mkdirs(temp, 0o700);
  const lock = holdLock(temp);
  try {
    const tar = join(temp, "files.tar");
    const fd = openSync(tar, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
    try {
      writeTar(fd, layerDirs);
    } finally {
      closeSync(fd);
    }
    mkdirs(resolve(output.dest), 0o755);
    await extractInto(tar, resolve(output.dest), root);
  } finally {
    removeTree(temp);
    close(lock);
  }
}

function writeTar(fd: number, layerDirs: string[]): void {
  const tar = new TarWriter(fd);
  archiveMerged(tar, layerDirs);
  tar.finish();
}

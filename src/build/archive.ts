// Tar archives a build reads: ADD's local archives, a context given on standard input. Unpacked
// as an image layer is (src/image/extract.ts): no entry outside the destination, no device node,
// a bound on the bytes written.
import { openArchiveStream } from "../image/archive-stream.ts";

/** Whether `path` is a tar archive, compressed or not: a ustar header once decompressed. */
export async function isTarArchive(path: string): Promise<boolean> {
  let stream: AsyncIterator<Uint8Array>;
  try {
    stream = await openArchiveStream(path);
  } catch {
    return false; // xz, bzip2 or unreadable: copied as it is
  }
  let head = Buffer.alloc(0);
  try {
    while (head.length < 263) {
      const { value, done } = await stream.next();
      if (done) break;
      head = Buffer.concat([head, Buffer.from(value)]);
    }
  } catch {
    return false;
  } finally {
    await stream.return?.();
  }
  return head.length >= 263 && head.subarray(257, 262).toString() === "ustar";
}

/** The archive's entries into `dest`, as a layer's are unpacked (no link out, no device node, a bound). */
export async function extractInto(archive: string, dest: string, root: string): Promise<void> {
  const [{ TarReader }, { extractTar }, { unpackLimit }] = await Promise.all([import("../image/tar.ts"), import("../image/extract.ts"), import("../image/layers.ts")]);
  const reader = await TarReader.open(archive);
  await extractTar(reader.entries(), dest, { maxBytes: unpackLimit(root) });
}

// Archive paths are attacker-controlled text: this turns one into components below the rootfs,
// or says why it cannot be one.

export const MAX_ENTRY_PATH_BYTES = 4096;
const MAX_SHOWN_CHARS = 200;

export type EntryPath = { components: string[] } | { problem: string };

/** Leading "/" and "." components are dropped and ".." is resolved by text alone (so the
 * result never contains one); a ".." that would climb above the rootfs is a problem. An empty
 * component list means the rootfs itself. */
export function normalizeEntryPath(raw: string): EntryPath {
  if (Buffer.byteLength(raw) > MAX_ENTRY_PATH_BYTES) return { problem: `path is longer than ${MAX_ENTRY_PATH_BYTES} bytes` };
  if (raw.includes("\0")) return { problem: "path contains a NUL byte" };
  const components: string[] = [];
  for (const part of raw.split("/")) {
    if (part === "" || part === ".") continue;
    if (part !== "..") components.push(part);
    else if (components.pop() === undefined) return { problem: "path leaves the rootfs" };
  }
  return { components };
}

/** A path for an error message: quoted, control characters escaped, absurd lengths cut. */
export function quotePath(path: string): string {
  return JSON.stringify(path.length > MAX_SHOWN_CHARS ? `${path.slice(0, MAX_SHOWN_CHARS)}...` : path);
}

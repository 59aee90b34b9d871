// The fallback where a layer's filesystem takes no idmapped mount on this kernel (tmpfs before
// Linux 6.3, for one): the user namespace sees a copy of the layer whose owners are shifted
// through its maps, as Docker's userns-remap keeps one per range. Made once per container, in its
// own directory (so it goes with it), and used again at each start.
import { close, exists, mkdirs, open, removeTree, renameIntoPlace } from "../sys/fs.ts";
import { O_DIRECTORY, O_PATH } from "../sys/constants.ts";
import { basename, dirname } from "../path.ts";
import { copyEntry } from "../sys/copy-tree.ts";
import { randomHex } from "../random.ts";
import { hostId, type UsernsSpec } from "../security/userns.ts";
import { opaqueXattr } from "../image/whiteout.ts";

/** What the kernel shows for an id a user namespace does not map. */
const OVERFLOW_ID = 65534;

/** `target` as a copy of `layer` with every owner shifted into `ids`' host range. */
export function shiftedLayer(layer: string, target: string, ids: UsernsSpec): string {
  if (exists(target)) return target;
  // Built under a name of its own and renamed into place: a start killed half-way leaves no half
  // copy to use, and of two starts at once the first rename wins.
  const temp = `${target}.tmp-${randomHex(6)}`;
  mkdirs(dirname(temp), 0o700);
  const from = open(dirname(layer), O_PATH | O_DIRECTORY);
  const to = open(dirname(temp), O_PATH | O_DIRECTORY);
  try {
    copyEntry(from, basename(layer), to, basename(temp), {
      modeMask: 0o7777,
      // An id outside the maps is the overflow id's inside, as through an idmapped mount.
      owner: (st) => [hostId(ids.uidMap, st.uid) ?? OVERFLOW_ID, hostId(ids.gidMap, st.gid) ?? OVERFLOW_ID],
      layer: { opaqueXattr: opaqueXattr() },
      // Only device nodes and sockets are left out; extraction keeps none in a layer.
      skipped: () => {},
    }, layer);
    renameIntoPlace(temp, target);
  } finally {
    close(from);
    close(to);
    removeTree(temp);
  }
  return target;
}

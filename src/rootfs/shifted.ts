// The fallback where a layer's filesystem takes no idmapped mount on this kernel (tmpfs before
// Linux 6.3, for one): the user namespace sees a copy of the layer whose owners are shifted
// through its maps, as Docker's userns-remap keeps one per range. Made once per container, in its
// own directory (so it goes with it), and used again at each start.
import { close, exists, mkdirs, open, removeTree, rename } from "../sys/fs.ts";
import { O_DIRECTORY, O_PATH } from "../sys/constants.ts";
import { basename, dirname } from "../path.ts";
import { copyEntry } from "../container/copy.ts";
import { hostOwner, type UsernsSpec } from "../security/userns.ts";

/** `target` as a copy of `layer` with every owner shifted into `ids`' host range. */
export function shiftedLayer(layer: string, target: string, ids: UsernsSpec): string {
  if (exists(target)) return target;
  // Built under another name and renamed: a start killed half-way leaves no half copy to use.
  const temp = `${target}.tmp`;
  removeTree(temp);
  mkdirs(dirname(temp), 0o700);
  const from = open(dirname(layer), O_PATH | O_DIRECTORY);
  const to = open(dirname(temp), O_PATH | O_DIRECTORY);
  try {
    copyEntry(from, basename(layer), to, basename(temp), { modeMask: 0o7777, owner: (st) => hostOwner(ids, st.uid, st.gid) }, layer);
  } finally {
    close(from);
    close(to);
  }
  rename(temp, target);
  return target;
}

// Docker's --detach-keys, taken by box attach and checked by box run: apart, so that run's start
// does not load attach.
import { UserError } from "../container/errors.ts";

const CTRL_KEYS = "@abcdefghijklmnopqrstuvwxyz[\\]^_";

/** Docker's --detach-keys: comma-separated keys, each one character or ctrl-X. */
export function parseDetachKeys(text: string): number[] {
  const keys = text.split(",").map((k) => {
    if (k.length === 1) return k.charCodeAt(0);
    const ctrl = /^ctrl-(.)$/i.exec(k);
    const code = ctrl ? CTRL_KEYS.indexOf(ctrl[1]!.toLowerCase()) : -1;
    if (code < 0) throw new UserError(`invalid --detach-keys "${text}": a comma-separated list like ctrl-p,ctrl-q`);
    return code;
  });
  return keys;
}

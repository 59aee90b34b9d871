// Whether this host enforces AppArmor (crun's test): a profile named in a bundle means nothing
// where the module is off, and box cannot load one where it is on.
import { readFile } from "../sys/fs.ts";

export function apparmorEnabled(): boolean {
  try {
    return readFile("/sys/module/apparmor/parameters/enabled").trim() === "Y";
  } catch {
    return false;
  }
}

// Whether this host has SELinux on (runc's test: selinuxfs mounted): labels in a bundle mean
// nothing where it is off, and runc ignores them there; box cannot apply them where it is on.
import { exists } from "../sys/fs.ts";

export function selinuxEnabled(): boolean {
  return exists("/sys/fs/selinux/enforce");
}

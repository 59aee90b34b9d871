// Resolves `-u` against the container's own /etc/passwd and /etc/group, as Docker does.
import { isErrno } from "../sys/fs.ts";
import { describeError, Errno } from "../sys/errors.ts";
import { UserError } from "./errors.ts";

/**
 * The user as the trampoline takes it. Rootless: root is the one id there is (the caller's,
 * outside), and the user namespace refuses setgroups, so the process keeps its groups as they
 * are (root's only). `asked`: the user as given, for the error.
 */
export function forContainer(spec: { rootless?: boolean }, user: ResolvedUser, asked: string): Omit<ResolvedUser, "groups"> & { groups?: number[] } {
  if (!spec.rootless) return user;
  if (user.uid !== 0 || user.gid !== 0) throw new UserError(`rootless: user ${asked} (${user.uid}:${user.gid}) does not exist in the container, whose only user is root (you, outside)`);
  return { ...user, groups: undefined };
}

export interface ResolvedUser {
  uid: number;
  gid: number;
  /** Supplementary groups from /etc/group. */
  groups: number[];
  home: string;
}

/**
 * An image without the file has no names (Docker's), nor one whose file is no regular file (a
 * FIFO, a link to /dev/zero or through /proc is never opened: runc reads /dev/null as empty, and
 * such an image runs); one larger than the bound is refused with one line.
 */
function readTable(read: (path: string) => string, path: string): string[][] {
  let text: string;
  try {
    text = read(path);
  } catch (e) {
    if (isErrno(e, Errno.EFBIG)) throw new UserError(`the container's ${path} is too large to be a ${path.slice(5)} file: ${describeError(e)}`);
    return [];
  }
  return text
    .split("\n")
    .filter((l) => l && !l.startsWith("#"))
    .map((l) => l.split(":"));
}

const NUMERIC = /^\d+$/;
const MAX_ID = 2 ** 32 - 2;

function parseId(text: string, what: string): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n > MAX_ID) throw new UserError(`invalid ${what} "${text}": out of range`);
  return n;
}

/**
 * `read` reads a file of the container by its path inside it, confined to the container's root,
 * only if it is a regular file, and with a bound (readFileInRoot): an image's /etc/passwd may be
 * a link to /dev/zero or a FIFO.
 */
export function resolveUser(user: string, read: (path: string) => string, groupAdd: string[] = []): ResolvedUser {
  const passwd = readTable(read, "/etc/passwd");
  const groupTable = readTable(read, "/etc/group");
  const [userPart = "", groupPart] = user === "" ? ["0"] : user.split(":", 2);

  let uid: number;
  let gid = 0;
  let name: string | undefined;
  let home = "/";
  const entry = NUMERIC.test(userPart)
    ? passwd.find((e) => e[2] === userPart)
    : passwd.find((e) => e[0] === userPart);
  if (entry) {
    name = entry[0];
    uid = parseId(entry[2] ?? "", "uid");
    gid = parseId(entry[3] ?? "0", "gid");
    home = entry[5] || "/";
  } else if (NUMERIC.test(userPart)) {
    uid = parseId(userPart, "uid");
  } else {
    throw new UserError(`unable to find user ${userPart}: no matching entries in passwd file`);
  }

  if (groupPart !== undefined) gid = groupId(groupTable, groupPart);

  // Docker: supplementary groups are the user's memberships in /etc/group (not with an explicit group).
  const groups = new Set<number>([gid]);
  if (name !== undefined && groupPart === undefined) {
    for (const g of groupTable) {
      if ((g[3] ?? "").split(",").includes(name)) groups.add(parseId(g[2] ?? "", "gid"));
    }
  }
  // --group-add: on top of those, whatever -u says (Docker's).
  for (const g of groupAdd) groups.add(groupId(groupTable, g));
  return { uid, gid, groups: [...groups], home };
}

/** A group by name (looked up in the container's /etc/group) or number. */
function groupId(groupTable: string[][], group: string): number {
  const g = NUMERIC.test(group) ? undefined : groupTable.find((e) => e[0] === group);
  if (g) return parseId(g[2] ?? "", "gid");
  if (NUMERIC.test(group)) return parseId(group, "gid");
  throw new UserError(`unable to find group ${group}: no matching entries in group file`);
}

// --ipc, --uts, --pid, --cgroupns and --cgroup-parent → the namespaces a container shares and
// where its cgroup goes, with Docker's modes and errors.
import { UserError } from "../container/errors.ts";
import type { ContainerSpec } from "../container/spec.ts";

const CONTAINER_MODE = /^container:(.+)$/;

export interface IpcChoice {
  mode: string;
  /** A container whose IPC namespace (and /dev/shm) is joined. */
  container?: string;
  host: boolean;
}

/**
 * private (the default: Docker 20.10+'s daemon default), shareable (private, and others may join
 * it), none (private, no /dev/shm), host, container:NAME (its IPC and /dev/shm; it must be
 * running and shareable, Docker's rule).
 */
export function parseIpc(text: string | undefined, find: (ref: string) => { spec: ContainerSpec; running: boolean }): IpcChoice {
  if (text === undefined || text === "" || text === "private") return { mode: "private", host: false };
  if (text === "shareable" || text === "none") return { mode: text, host: false };
  if (text === "host") return { mode: "host", host: true };
  const ref = CONTAINER_MODE.exec(text)?.[1];
  if (ref === undefined) throw new UserError(`invalid --ipc "${text}": private, shareable, none, host or container:NAME`);
  const other = find(ref);
  if (!other.running) throw new UserError(`cannot join IPC of a non running container: ${ref}`);
  if (other.spec.ipcMode === "host") return { mode: "host", host: true };
  if (other.spec.ipcMode !== "shareable") throw new UserError(`cannot join IPC of a non-shareable container: ${ref} (start it with --ipc shareable)`);
  return { mode: `container:${other.spec.id}`, container: other.spec.id, host: false };
}

/**
 * --pid host, or container:NAME (running): the container's processes live in that PID namespace,
 * see each other and are seen there. Returned as the spec keeps it (container:ID).
 */
export function parsePid(text: string | undefined, find: (ref: string) => { spec: ContainerSpec; running: boolean }): string | undefined {
  if (text === undefined || text === "" || text === "private") return undefined;
  if (text === "host") return "host";
  const ref = CONTAINER_MODE.exec(text)?.[1];
  if (ref === undefined) throw new UserError(`invalid --pid "${text}": host or container:NAME`);
  const other = find(ref);
  if (!other.running) throw new UserError(`cannot join PID of a non running container: ${ref}`);
  return `container:${other.spec.id}`;
}

export function parseUts(text: string | undefined, hostnameGiven: boolean): boolean {
  if (text === undefined || text === "" || text === "private") return false;
  if (text !== "host") throw new UserError(`invalid --uts "${text}": host (or private)`);
  if (hostnameGiven) throw new UserError("conflicting options: --hostname and --uts host");
  return true;
}

export function parseCgroupns(text: string | undefined): boolean {
  if (text === undefined || text === "private") return false;
  if (text !== "host") throw new UserError(`invalid --cgroupns "${text}": host or private`);
  return true;
}

/**
 * --cgroup-parent: the cgroup the container's is made in, relative to each hierarchy's root
 * (`/batch` and `batch` alike, as Docker's cgroupfs driver). Parents box makes stay (Docker's too).
 */
export function parseCgroupParent(text: string | undefined): string | undefined {
  if (text === undefined || text === "") return undefined;
  const parts = text.split("/").filter(Boolean);
  if (!parts.length || parts.some((p) => p === "." || p === ".." || p.includes("\0")) || text.length > 1024) throw new UserError(`invalid --cgroup-parent "${text}": a cgroup path like /batch or batch/low`);
  return parts.join("/");
}

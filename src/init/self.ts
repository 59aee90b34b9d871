import type { ContainerSpec } from "../container/spec.ts";

// How box starts itself again (as the container's init): the compiled executable, or Bun with
// this source tree during development.

/**
 * How to run box again: `path` for execve and the argv before box's own arguments. The path is
 * /proc/self/exe, so the init is this very executable even if the file was replaced meanwhile.
 */
export function selfCommand(): { path: string; argv: string[] } {
  const main = Bun.main;
  const compiled = main.startsWith("/$bunfs/") || main.startsWith("B:/~BUN/");
  return { path: "/proc/self/exe", argv: compiled ? ["box"] : [process.execPath, main] };
}

export const INIT_COMMAND = "__init";

/** The init's descriptors, set up by the spawn trampoline. */
export const INIT_FDS = {
  /** init → CLI: one JSON line ({pid} or {error, code}); stays open until the init exits. */
  sync: 3,
  /** CLI → init: never written; EOF means the CLI is gone (attached containers die with it). */
  lifeline: 4,
  /**
   * CLI → init: the InitPlan as one JSON line; EOF after it once the CLI has recorded the start,
   * and EOF alone means "no container after all".
   */
  plan: 5,
  /** the CLI's network namespace, joined for --network host (the init starts in a new one) */
  hostNet: 6,
  /** box oci --console-socket: the connected socket the pty's master is sent over */
  console: 7,
  /** box oci --preserve-fds N: the caller's 3 .. 3+N-1 from here on, the process's 3 .. again */
  preserved: 64,
} as const;

/** How many descriptors --preserve-fds may pass (the spawn trampoline maps at most 64 in all). */
export const MAX_PRESERVED_FDS = 56;

/** What the CLI hands the init: where the container's state is. */
export interface InitPlan {
  id: string;
  /** The container's spec (also in its config.json, which the CLI may still be writing). */
  spec: ContainerSpec;
  /** The payload's output goes to the container's log, and the CLI does not wait (run -d, start). */
  detach: boolean;
  root: string;
  runroot: string;
  cgroups: string[];
  /** Where the cgroups' owner record is (removed at an --rm end): the CLI's, reached through a descriptor. */
  cgroupOwner?: { dir: string; name: string };
  /**
   * box oci create: once the container is built the init reports `{created}` and waits until
   * `box oci start` opens this FIFO (a host path, reached through the run root's descriptor) before
   * it starts the payload; the lifeline means nothing then (the caller exits after create).
   */
  startFifo?: string;
  /** box oci run with no hook between create and start: created, then started at once (no FIFO). */
  startAtOnce?: boolean;
  /** box oci --console-socket: the pty's master goes over INIT_FDS.console, and nothing is relayed. */
  consoleSocket?: boolean;
  /** box oci: the state a startContainer hook reads (made by the CLI, which knows the init's host pid). */
  startState?: object;
  /** The caller's pid: its uts and ipc namespaces are the "host" ones a bundle may keep. */
  callerPid: number;
}

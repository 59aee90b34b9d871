// How box starts itself again (as the container's init): the compiled executable, or Bun with
// this source tree during development.

/** argv prefix that runs box: [executable, ...args before box's own]. */
export function selfCommand(): string[] {
  const main = Bun.main;
  if (main.startsWith("/$bunfs/") || main.startsWith("B:/~BUN/")) return [process.execPath];
  return [process.execPath, main];
}

export const INIT_COMMAND = "__init";

/** The init's descriptors, set up by the spawn trampoline. */
export const INIT_FDS = {
  /** init → CLI: one JSON line ({pid} or {error, code}); stays open until the init exits. */
  sync: 3,
  /** CLI → init: never written; EOF means the CLI is gone (attached containers die with it). */
  lifeline: 4,
  /** CLI → init: the InitPlan as JSON, then EOF; EOF alone means "no container after all". */
  plan: 5,
} as const;

/** What the CLI hands the init: where the container's state is. */
export interface InitPlan {
  id: string;
  root: string;
  runroot: string;
  cgroups: string[];
}

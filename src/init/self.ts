// How box starts itself again (as the container's init): the compiled executable, or Bun with
// this source tree during development.

/** argv prefix that runs box: [executable, ...args before box's own]. */
export function selfCommand(): string[] {
  const main = Bun.main;
  if (main.startsWith("/$bunfs/") || main.startsWith("B:/~BUN/")) return [process.execPath];
  return [process.execPath, main];
}

export const INIT_COMMAND = "__init";
/** The plan travels in the environment: it keeps the init's command line short in `ps`. */
export const INIT_PLAN_ENV = "BOX_INIT_PLAN";

/** What the CLI hands the init: where the container's state is. */
export interface InitPlan {
  id: string;
  root: string;
  runroot: string;
  cgroups: string[];
  /** fd numbers in the init */
  syncFd: number;
  /** absent for detached containers, whose init outlives the CLI */
  lifelineFd?: number;
}

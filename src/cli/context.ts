// What every command receives from the root command: the store roots.
import type { Store } from "../container/store.ts";

export interface GlobalOptions {
  store: Store;
}

let current: GlobalOptions | undefined;

export function setGlobals(g: GlobalOptions): void {
  current = g;
}

export function globals(): GlobalOptions {
  if (!current) throw new Error("global options not parsed");
  return current;
}

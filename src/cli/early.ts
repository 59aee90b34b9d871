// Recognises `box [--root DIR] [--runroot DIR] run ...` from the raw arguments, so the
// container's init can start before the CLI's modules load (its Bun runtime takes ~5 ms). Anything
// it does not recognise just means no early start: the run command starts the init itself.
import { defaultStore, type Store } from "../container/store.ts";

export function earlyRunStore(argv: string[]): Store | undefined {
  const store = defaultStore();
  let i = 0;
  for (; i < argv.length && argv[i]!.startsWith("-"); i++) {
    const m = /^--(root|runroot)(?:=(.*))?$/.exec(argv[i]!);
    if (!m) return undefined;
    const value = m[2] ?? argv[++i];
    if (value === undefined) return undefined;
    store[m[1] as keyof Store] = value;
  }
  if (argv[i] !== "run" || argv.includes("--help") || argv.includes("-h") || !store.root || !store.runroot) return undefined;
  // --pid: the init goes into a PID namespace that only the parsed flags name.
  if (argv.some((a) => a === "--pid" || a.startsWith("--pid="))) return undefined;
  return store;
}

// Recognises `box [--root DIR] [--runroot DIR] run ...` from the raw arguments, so the
// container's init can start before the CLI's modules load (its Bun runtime takes ~5 ms). Anything
// it does not recognise just means no early start: the run command starts the init itself.
import { defaultStore, type Store } from "../container/store.ts";
import { ociStore } from "../oci/store.ts";

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

/** runc's global flags that take a value (before the verb). */
const OCI_VALUE_FLAGS = new Set(["--root", "--log", "--log-format", "--rootless", "--criu"]);

/**
 * The same for `box oci [GLOBAL FLAGS] create|run ...` (and box named runc): its store, or
 * undefined when the init cannot start before the flags are parsed (a console socket or
 * preserved descriptors are handed to it at its start; --systemd-cgroup is refused).
 */
export function earlyOciStore(argv: string[]): Store | undefined {
  let root: string | undefined;
  let i = 0;
  for (; i < argv.length && argv[i]!.startsWith("-"); i++) {
    const [flag, inline] = argv[i]!.split(/=(.*)/s, 2) as [string, string | undefined];
    if (flag === "--debug") continue;
    if (!OCI_VALUE_FLAGS.has(flag)) return undefined;
    const value = inline ?? argv[++i];
    if (value === undefined) return undefined;
    if (flag === "--root") root = value;
  }
  const rest = argv.slice(i + 1);
  if ((argv[i] !== "create" && argv[i] !== "run") || rest.some((a) => /^--?(console-socket|preserve-fds|help|h)(=|$)/.test(a))) return undefined;
  try {
    return ociStore(root);
  } catch {
    return undefined;
  }
}

// Entry point of the one executable: the CLI, or (hidden) the container's init.
// The init and the early start of `box run` are imported statically: they are on the critical
// path of every container, and a chunk loaded on demand costs ~1 ms more than code in this one.
import { INIT_COMMAND } from "./init/self.ts";
import { runInit } from "./init/init.ts";
import { launchEarlyInit } from "./container/start.ts";
import { earlyOciStore, earlyRunStore } from "./cli/early.ts";
import { trace } from "./trace.ts";
import { readFile } from "./sys/fs.ts";

const argv = process.argv.slice(2);
if (argv[0] === INIT_COMMAND) {
  await runInit();
} else if (calledAsRunc() || argv[0] === "oci") {
  // A client that runs `runc` (containerd's shim, dockerd's --add-runtime) can run box unchanged.
  // `box oci` goes the same short way: only its own chunk loads, not every command's.
  const asRunc = argv[0] !== "oci";
  const ociArgv = asRunc ? argv : argv.slice(1);
  // create and run start the init first, as box run does.
  const store = earlyOciStore(ociArgv);
  if (store) launchEarlyInit(store);
  const { runOci } = await import("./cli/oci.ts");
  await runOci(ociArgv, asRunc);
} else {
  trace("cli", "start");
  const store = earlyRunStore(argv);
  if (store) launchEarlyInit(store);
  const { runCli } = await import("./cli/main.ts");
  await runCli(argv);
}

/** Named runc (or *-runc) through a link: argv[0] as the kernel got it, not the resolved executable. */
function calledAsRunc(): boolean {
  const argv0 = readFile("/proc/self/cmdline").split("\0")[0] ?? "";
  return /(^|[/-])runc$/.test(argv0);
}

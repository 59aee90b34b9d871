// Entry point of the one executable: the CLI, or (hidden) the container's init.
// Only what decides the way and starts an init early is imported statically; each way then loads
// its own chunk, so that neither the init nor the CLI evaluates the other's modules (~20 ms of a
// start on a slow host).
import { INIT_COMMAND } from "./init/self.ts";
import { launchEarlyInit } from "./container/launch.ts";
import { earlyRunStore } from "./cli/early.ts";
import { trace } from "./trace.ts";
import { readFile } from "./sys/fs.ts";

const argv = process.argv.slice(2);
if (argv[0] === INIT_COMMAND) {
  const { runInit } = await import("./init/init.ts");
  await runInit();
} else if (calledAsRunc() || argv[0] === "oci") {
  // A client that runs `runc` (containerd's shim, dockerd's --add-runtime) can run box unchanged.
  const asRunc = argv[0] !== "oci";
  const ociArgv = asRunc ? argv : argv.slice(1);
  trace("cli", "oci-start");
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

// Entry point of the one executable: the CLI, or (hidden) the container's init.
// Nothing but the way's name is decided before each way loads its own chunks: neither the init,
// box oci (called several times per container by containerd's shim) nor the CLI evaluates the
// others' modules (each chunk loaded costs start time: ~20 ms for the whole program).
import { INIT_COMMAND } from "./init/self.ts";

const argv = process.argv.slice(2);
if (argv[0] === INIT_COMMAND) {
  const { runInit } = await import("./init/init.ts");
  await runInit();
} else if (calledAsRunc() || argv[0] === "oci") {
  // A client that runs `runc` (containerd's shim, dockerd's --add-runtime) can run box unchanged.
  const asRunc = argv[0] !== "oci";
  const { runOci } = await import("./cli/oci.ts");
  await runOci(asRunc ? argv : argv.slice(1), asRunc);
} else {
  const [{ launchEarlyInit }, { earlyRunStore }, { trace }] = await Promise.all([import("./container/launch.ts"), import("./cli/early.ts"), import("./trace.ts")]);
  trace("cli", "start");
  const store = earlyRunStore(argv);
  if (store) launchEarlyInit(store);
  const { runCli } = await import("./cli/main.ts");
  await runCli(argv);
}

/** Named runc (or *-runc) through a link: argv[0] as the kernel got it, not the resolved executable. */
function calledAsRunc(): boolean {
  return /(^|[/-])runc$/.test(process.argv0);
}

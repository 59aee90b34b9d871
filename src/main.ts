// Entry point of the one executable: the CLI, or (hidden) the container's init.
// The init and the early start of `box run` are imported statically: they are on the critical
// path of every container, and a chunk loaded on demand costs ~1 ms more than code in this one.
import { INIT_COMMAND } from "./init/self.ts";
import { runInit } from "./init/init.ts";
import { launchEarlyInit } from "./container/start.ts";
import { earlyRunStore } from "./cli/early.ts";
import { trace } from "./trace.ts";

const argv = process.argv.slice(2);
if (argv[0] === INIT_COMMAND) {
  await runInit();
} else {
  trace("cli", "start");
  const store = earlyRunStore(argv);
  if (store) launchEarlyInit(store);
  const { runCli } = await import("./cli/main.ts");
  await runCli(argv);
}

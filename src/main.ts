// Entry point of the one executable: the CLI, or (hidden) the container's init.
import { INIT_COMMAND } from "./init/self.ts";
import { earlyRunStore } from "./cli/early.ts";
import { trace } from "./trace.ts";

const argv = process.argv.slice(2);
if (argv[0] === INIT_COMMAND) {
  const { runInit } = await import("./init/init.ts");
  await runInit();
} else {
  trace("cli", "start");
  const store = earlyRunStore(argv);
  if (store) (await import("./container/start.ts")).launchEarlyInit(store);
  const { runCli } = await import("./cli/main.ts");
  await runCli(argv);
}

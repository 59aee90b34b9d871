import { UserError } from "../container/errors.ts";

/**
 * Runs `act` on every argument, as `docker rm a b c` does: a failure is reported on its own
 * line and the rest still run; the exit code is the last failure's.
 */
export async function forEachArgument(args: string[], act: (arg: string) => Promise<string> | string): Promise<void> {
  for (const arg of args) {
    try {
      process.stdout.write(`${await act(arg)}\n`);
    } catch (e) {
      if (!(e instanceof UserError)) throw e;
      process.stderr.write(`box: ${e.message}\n`);
      process.exitCode = e.exitCode;
    }
  }
}

import { UserError } from "../container/errors.ts";

/** Commands that act on one or more containers or images need at least one. */
export function requireArguments(command: string, args: string[]): void {
  if (args.length === 0) throw new UserError(`"box ${command}" requires at least 1 argument`);
}

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

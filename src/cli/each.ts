import type { CommandDef } from "citty";
import { NoSuchContainer, UserError } from "../container/errors.ts";
import { findContainer } from "../container/lookup.ts";
import type { ContainerSpec } from "../container/spec.ts";
import type { Store } from "../container/store.ts";
import { globals } from "./context.ts";
import { parseFlags, type ParsedFlags } from "./flags.ts";
import { printHelp } from "./help.ts";

/** Commands that act on one or more containers or images need at least one. */
export function requireArguments(command: string, args: string[]): void {
  if (args.length === 0) throw new UserError(`"box ${command}" requires at least 1 argument`);
}

/**
 * Runs `act` on every argument, as `docker rm a b c` does: a failure is reported on its own
 * line and the rest still run; the exit code is the last failure's.
 */
export async function forEachArgument(args: string[], act: (arg: string) => Promise<string | undefined> | string | undefined): Promise<void> {
  for (const arg of args) {
    try {
      const line = await act(arg);
      if (line !== undefined) process.stdout.write(`${line}\n`);
    } catch (e) {
      if (!(e instanceof UserError)) throw e;
      process.stderr.write(`box: ${e.message}\n`);
      process.exitCode = e.exitCode;
    }
  }
}

/**
 * The body of a command that takes one or more containers (`box stop a b`): flags, --help, at
 * least one argument, then `act` on each as forEachArgument does; `act` returns the line to print.
 * `missingOk`: a container that does not exist is no error, and prints nothing (rm -f).
 */
export async function onEachContainer(
  name: string,
  cmd: CommandDef<any>,
  rawArgs: string[],
  examples: string[],
  act: (flags: ParsedFlags, store: Store, spec: ContainerSpec, ref: string) => Promise<string>,
  missingOk: (flags: ParsedFlags) => boolean = () => false,
): Promise<void> {
  const flags = parseFlags(rawArgs, cmd.args as never, [], false);
  if (flags.help) return printHelp(cmd, examples);
  requireArguments(name, flags.positionals);
  const { store } = globals();
  await forEachArgument(flags.positionals, async (ref) => {
    try {
      return await act(flags, store, findContainer(store, ref), ref);
    } catch (e) {
      // Also one removed by another box meanwhile.
      if (e instanceof NoSuchContainer && missingOk(flags)) return undefined;
      throw e;
    }
  });
}

// Docker's question before a command that removes many things at once (the prunes).
import { UserError } from "../container/errors.ts";
import { isTerminal } from "../sys/tty.ts";

/** Docker's question before a prune; without a terminal to answer it, scripts must say -f. */
export function confirmed(force: unknown, command: string, what: string): boolean {
  if (force === true) return true;
  if (!isTerminal(0)) throw new UserError(`${command} removes ${what}: confirm with -f`);
  process.stdout.write(`WARNING! This will remove:\n  - ${what.replace(/, /g, "\n  - ")}\nAre you sure you want to continue? [y/N] `);
  const answer = (prompt("") ?? "").trim().toLowerCase();
  return answer === "y" || answer === "yes";
}

export const FORCE = { force: { type: "boolean", alias: "f", description: "Do not ask for confirmation" } } as const;

// How a failed hook is told, by the CLI's hooks and the init's startContainer ones alike: runc's
// "error running hook", which callers look for, then which hook and how it ended.
import { UserError } from "../container/errors.ts";
import { signalDescription } from "../sys/process.ts";

export function hookFailure(kind: string, path: string, end: { code: number; signal?: number }, said = ""): UserError {
  const how = end.signal ? `killed by ${signalDescription(end.signal)}` : `exited with status ${end.code}`;
  return new UserError(`error running hook: ${kind} ${path} ${how}${said ? `: ${said}` : ""}`);
}

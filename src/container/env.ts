// The payload's environment: Docker's defaults, the image's Env, then -e/--env-file in order.
import { readFile } from "../sys/fs.ts";
import { errnoName, SyscallError } from "../sys/errors.ts";
import { UserError } from "./errors.ts";
import type { ContainerSpec } from "./spec.ts";

export const DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/** `KEY=VALUE` stays; a bare `KEY` takes the caller's value or is dropped, as in Docker. */
export function parseEnvEntry(entry: string, hostEnv: Record<string, string | undefined>): string | undefined {
  const eq = entry.indexOf("=");
  const key = eq < 0 ? entry : entry.slice(0, eq);
  if (key === "" || /\s/.test(key) || key.includes("\0")) throw new UserError(`invalid environment variable "${entry}"`);
  if (eq >= 0) return entry;
  const value = hostEnv[key];
  return value === undefined ? undefined : `${key}=${value}`;
}

export function readEnvFile(path: string, hostEnv: Record<string, string | undefined>): string[] {
  let text: string;
  try {
    text = readFile(path);
  } catch (e) {
    throw new UserError(`cannot read env file ${path}: ${e instanceof SyscallError ? errnoName(e.errno) : e}`);
  }
  const out: string[] = [];
  for (const raw of text.split("\n")) {
    const line = raw.replace(/\r$/, "").trimStart();
    if (line === "" || line.startsWith("#")) continue;
    const e = parseEnvEntry(line, hostEnv);
    if (e !== undefined) out.push(e);
  }
  return out;
}

/** Later entries win; the order of first appearance is kept. */
export function mergeEnv(...lists: string[][]): string[] {
  const map = new Map<string, string>();
  for (const list of lists) {
    for (const e of list) {
      const eq = e.indexOf("=");
      map.set(e.slice(0, eq), e);
    }
  }
  return [...map.values()];
}

/**
 * What a process of the container starts with (the payload, and `box exec` with its -e on top):
 * Docker's PATH and HOSTNAME, TERM with a terminal, the container's env, HOME from its user.
 */
export function containerEnv(spec: Pick<ContainerSpec, "hostname" | "env">, tty: boolean, home: string, extra: string[] = []): string[] {
  const defaults = [`PATH=${DEFAULT_PATH}`, `HOSTNAME=${spec.hostname}`];
  if (tty) defaults.push("TERM=xterm");
  const env = mergeEnv(defaults, spec.env, extra);
  return envValue(env, "HOME") === undefined ? [...env, `HOME=${home}`] : env;
}

export function envValue(env: string[], key: string): string | undefined {
  for (let i = env.length - 1; i >= 0; i--) {
    if (env[i]!.startsWith(`${key}=`)) return env[i]!.slice(key.length + 1);
  }
  return undefined;
}

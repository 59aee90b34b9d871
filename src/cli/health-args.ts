// --health-cmd, --health-interval, ... and --no-healthcheck over the image's HEALTHCHECK → one
// HealthSpec, with Docker's defaults and checks.
import { UserError } from "../container/errors.ts";
import type { HealthSpec } from "../container/spec.ts";
import { HEALTH_DEFAULTS } from "../container/health.ts";
import { goDuration } from "../duration.ts";
import type { ParsedFlags } from "./flags.ts";

/** A HEALTHCHECK as an image's config has it (durations in ns; 0 or absent: the default). */
interface ImageHealthcheck {
  Test?: string[];
  Interval?: number;
  Timeout?: number;
  StartPeriod?: number;
  StartInterval?: number;
  Retries?: number;
}

const DURATION_FLAGS = [["health-interval", "interval"], ["health-timeout", "timeout"], ["health-start-period", "startPeriod"], ["health-start-interval", "startInterval"]] as const;
const ON_FAILURE = ["none", "kill", "restart", "stop"] as const;

function duration(flag: string, text: string): number {
  const ns = goDuration(text) ?? (text === "0" ? 0 : undefined);
  if (ns === undefined) throw new UserError(`invalid argument "${text}" for "--${flag}" flag: a duration like 30s or 1m30s`);
  // Docker's: 0 is the default; anything else at least a millisecond.
  if (ns !== 0 && ns < 1e6) throw new UserError(`--${flag} cannot be less than 1ms`);
  return ns;
}

export function parseHealthcheck(v: ParsedFlags["values"], image: ImageHealthcheck | undefined): HealthSpec | undefined {
  const given = (k: string) => typeof v[k] === "string";
  const anyHealthFlag = given("health-cmd") || given("health-retries") || DURATION_FLAGS.some(([f]) => given(f));
  if (v["no-healthcheck"] === true) {
    if (anyHealthFlag) throw new UserError("--no-healthcheck conflicts with --health-* options");
    return undefined;
  }
  const onFailure = (v["health-on-failure"] as string | undefined) ?? "none";
  if (!(ON_FAILURE as readonly string[]).includes(onFailure)) throw new UserError(`invalid --health-on-failure "${onFailure}": none, kill, restart or stop`);
  const cmd = v["health-cmd"] as string | undefined;
  const test = cmd !== undefined ? ["CMD-SHELL", cmd] : image?.Test;
  if (test === undefined || test.length === 0 || test[0] === "NONE") {
    if (anyHealthFlag) throw new UserError("--health-* options need a health check: --health-cmd, or an image's HEALTHCHECK");
    return undefined;
  }
  if (!["CMD", "CMD-SHELL"].includes(test[0]!) || test.length < 2 || test.some((w) => typeof w !== "string")) throw new UserError(`invalid health check ${JSON.stringify(test)}: ["CMD-SHELL", "command"] or ["CMD", "program", ...]`);
  const h: HealthSpec = {
    test,
    interval: image?.Interval || HEALTH_DEFAULTS.interval,
    timeout: image?.Timeout || HEALTH_DEFAULTS.timeout,
    startPeriod: image?.StartPeriod || HEALTH_DEFAULTS.startPeriod,
    startInterval: image?.StartInterval || HEALTH_DEFAULTS.startInterval,
    retries: image?.Retries || HEALTH_DEFAULTS.retries,
    onFailure: onFailure as HealthSpec["onFailure"],
  };
  for (const [flag, key] of DURATION_FLAGS) {
    if (given(flag)) h[key] = duration(flag, v[flag] as string) || HEALTH_DEFAULTS[key];
  }
  if (given("health-retries")) {
    const n = /^-?\d{1,9}$/.test(v["health-retries"] as string) ? Number(v["health-retries"]) : NaN;
    if (!(n >= 0)) throw new UserError(`invalid --health-retries "${v["health-retries"]}": --health-retries cannot be negative`);
    h.retries = n || HEALTH_DEFAULTS.retries;
  }
  return h;
}

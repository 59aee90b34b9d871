// --restart: what the container's init does when the payload ends. Docker's rules: "no";
// "on-failure[:N]" restarts after a non-zero exit, at most N times; "always" and
// "unless-stopped" restart after any exit (they differ at `box system boot`, src/container/boot.ts).
// A stop or kill by box ends it for good. Delays double from 100 ms up to a minute,
// and start again from 100 ms after a run of at least 10 seconds.
import { UserError } from "./errors.ts";

export interface RestartSpec {
  name: "no" | "on-failure" | "always" | "unless-stopped";
  /** on-failure only; 0 = unlimited */
  maxRetries: number;
}

/**
 * A file in the container's directory (the store's: it outlives a reboot): `box stop`/`kill`
 * asked for the end, no restart follows, and `box system boot` leaves an unless-stopped one down.
 */
export const STOP_REQUESTED = "stop-requested";

const FIRST_DELAY = 100;
const MAX_DELAY = 60_000;
const RESET_AFTER = 10_000;

export function parseRestart(text: string | undefined): RestartSpec {
  if (text === undefined || text === "no") return { name: "no", maxRetries: 0 };
  const [name, count] = text.split(":", 2);
  if (name === "on-failure") {
    if (count !== undefined && !/^\d{1,6}$/.test(count)) throw new UserError(`invalid restart policy "${text}": the count must be a number`);
    return { name, maxRetries: Number(count ?? 0) };
  }
  if ((name === "always" || name === "unless-stopped") && count === undefined) return { name, maxRetries: 0 };
  throw new UserError(`invalid restart policy "${text}": use no, on-failure[:N], always or unless-stopped`);
}

export class RestartPolicy {
  count = 0;
  private delay = FIRST_DELAY;
  private wake?: () => void;
  private interrupted = false;

  constructor(
    private readonly spec: RestartSpec,
    private readonly stopRequested: () => boolean,
  ) {}

  /** After the payload ended with `code` having run `ranMs`: the delay before the next start, or undefined for none. */
  next(code: number, ranMs: number): number | undefined {
    const { name, maxRetries } = this.spec;
    if (name === "no" || this.interrupted || this.stopRequested()) return undefined;
    if (name === "on-failure" && (code === 0 || (maxRetries > 0 && this.count >= maxRetries))) return undefined;
    if (ranMs >= RESET_AFTER) this.delay = FIRST_DELAY;
    const delay = this.delay;
    this.delay = Math.min(this.delay * 2, MAX_DELAY);
    this.count++;
    return delay;
  }

  /** Waits out the delay; false when a stop came meanwhile. */
  async pause(ms: number): Promise<boolean> {
    await Promise.race([Bun.sleep(ms), new Promise<void>((resolve) => (this.wake = resolve))]);
    this.wake = undefined;
    return !this.interrupted && !this.stopRequested();
  }

  interrupt(): void {
    this.interrupted = true;
    this.wake?.();
  }
}

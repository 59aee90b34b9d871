// Go's durations (time.ParseDuration), as Docker's flags take them: `10s`, `1h30m`, `1.5h`, `-10s`.

const UNITS: Record<string, number> = { ns: 1, us: 1e3, "µs": 1e3, "μs": 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };

/** In nanoseconds; undefined when `text` is no duration (a bare number, even 0, is none). */
export function goDuration(text: string): number | undefined {
  const m = /^([-+]?)((?:(?:\d+\.?\d*|\.\d+)(?:ns|us|µs|μs|ms|s|m|h))+)$/.exec(text);
  if (!m) return undefined;
  let total = 0;
  for (const [, n, unit] of m[2]!.matchAll(/(\d+\.?\d*|\.\d+)(ns|us|µs|μs|ms|s|m|h)/g)) total += Number(n) * UNITS[unit!]!;
  return m[1] === "-" ? -total : total;
}

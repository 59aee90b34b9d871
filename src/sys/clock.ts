// The wall clock in nanoseconds: events are ordered and shown to the nanosecond, as Docker's,
// and Date.now() has milliseconds only.
import { libc } from "./libc.ts";

const SYS_clock_gettime = 228;
const CLOCK_REALTIME = 0;
const timespec = new BigInt64Array(2);

export function wallClockNanos(): bigint {
  libc.syscall(SYS_clock_gettime, CLOCK_REALTIME as never, timespec as never, null, null, null);
  return timespec[0]! * 1_000_000_000n + timespec[1]!;
}

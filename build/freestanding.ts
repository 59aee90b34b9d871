// Compiles one of box's freestanding C programs (no libc, raw system calls, its own _start) into
// a small static executable: the watcher and the exec shim embedded in box, the tests' helpers
// and the benchmark's timer. No libc development files are needed.
export interface FreestandingOptions {
  optimize?: "-Os" | "-O2";
  /**
   * One segment without page alignment, build id or RELRO: a program of a few hundred bytes is
   * not padded to pages (the shim: ~1 KB instead of ~9). Only for a program without writable
   * data, whose one segment would otherwise be writable and executable: the linker's warning
   * about that fails the build.
   */
  packed?: boolean;
}

/** Synchronous: the tests build their helpers on first use, inside a test. */
export function compileFreestanding(source: string, out: string, o: FreestandingOptions = {}): void {
  const packed = o.packed ? ["-Wl,-n", "-Wl,--build-id=none", "-Wl,-z,norelro", "-Wl,--fatal-warnings"] : [];
  for (const cmd of [
    ["cc", o.optimize ?? "-Os", "-static", "-nostdlib", "-ffreestanding", "-fno-builtin", "-fno-stack-protector", "-fno-pie", "-no-pie", ...packed, "-Wall", "-Werror", "-o", out, source],
    ["strip", out],
  ]) {
    const r = Bun.spawnSync(cmd, { stdout: "pipe", stderr: "pipe" });
    if (r.exitCode !== 0) throw new Error(`${cmd.join(" ")}: ${r.stderr.toString()}`);
  }
}

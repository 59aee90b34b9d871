// What the benchmark's parts share: the timer around one command, and the wrapper crun needs on
// this host.

/**
 * bash reads $EPOCHREALTIME just before and after the command, so bash's own start stays out of
 * the time; prints "T START END EXIT". `output`: where the command's stdout goes.
 */
export function timerScript(output: "/dev/null" | "stderr"): string {
  const redirect = output === "stderr" ? "1>&2" : ">/dev/null 2>&1";
  return `t0=$EPOCHREALTIME; "$@" </dev/null ${redirect}; rc=$?; t1=$EPOCHREALTIME; echo "T $t0 $t1 $rc"`;
}

/** ms between two $EPOCHREALTIME readings, without floating point's rounding of the seconds. */
export function diffMs(a: string, b: string): number {
  const [as, au = "0"] = a.split(".");
  const [bs, bu = "0"] = b.split(".");
  return (Number(bs) - Number(as)) * 1000 + (Number(bu.padEnd(6, "0")) - Number(au.padEnd(6, "0"))) / 1000;
}

/**
 * `shell -c script shell args...` in a private mount namespace whose cgroup2 mount at `unified`
 * is hidden under a tmpfs: crun 1.8 refuses this hybrid host's layout otherwise (see the method
 * in BENCHMARKS.md).
 */
export function hidingUnified(unified: string, shell: "bash" | "sh", script: string, args: string[]): string[] {
  return ["unshare", "-m", "--propagation", "private", shell, "-c", `mount -t tmpfs none ${unified} || exit 97; ${script}`, shell, ...args];
}

/**
 * The command's time in ms, under the timer (its output dropped); `wrap` builds the argv around
 * the timer script (default: plain bash). Throws unless it exits 0.
 */
export function timed(argv: string[], env: Record<string, string>, wrap?: (script: string, args: string[]) => string[]): number {
  const script = timerScript("/dev/null");
  const r = Bun.spawnSync(wrap ? wrap(script, argv) : ["bash", "-c", script, "bash", ...argv], { env, stdout: "pipe", stderr: "pipe" });
  const m = /T (\S+) (\S+) (\d+)/.exec(r.stdout.toString());
  if (!m || m[3] !== "0") throw new Error(`${argv.join(" ")} failed: ${r.stdout}${r.stderr}`);
  return diffMs(m[1]!, m[2]!);
}

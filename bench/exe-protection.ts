// What each defence against CVE-2019-5736 costs per container start (bench/exe-protection.c):
// a sealed memfd copy of box's whole binary, a read-only bind of it, and box's exec shim (one
// more exec of a few-hundred-byte program from a sealed memfd). Called by bench/run.ts.
import { join } from "node:path";
import { statSync } from "node:fs";
import { compileFreestanding } from "../build/freestanding.ts";
import { REPO } from "./sections.ts";

export interface ExeProtectionResult {
  binaryBytes: number;
  runs: number;
  /** medians in µs */
  copy: number;
  robind: number;
  direct: number;
  shim: number;
}


export function exeProtectionBench(o: { box: string; tmp: string; runs: number }): ExeProtectionResult {
  const exe = join(o.tmp, "exe-protection");
  compileFreestanding(join(REPO, "bench/exe-protection.c"), exe, { optimize: "-O2" });
  const r = Bun.spawnSync([exe, o.box, join(REPO, "dist/box-shim"), String(o.runs)], { stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`exe-protection exited ${r.exitCode}`);
  const v = Object.fromEntries(r.stdout.toString().trim().split("\n").map((l) => l.split(" ")).map(([k, n]) => [k, Number(n)]));
  return { binaryBytes: statSync(o.box).size, runs: o.runs, copy: v.copy!, robind: v.robind!, direct: v.direct!, shim: v.shim! };
}

export function exeProtectionSection(e: ExeProtectionResult): string {
  return `### Keeping box's binary out of a container's reach (CVE-2019-5736): the cost per start

A process that box execs in a container (the payload, a \`box exec\` command) goes through the exec
shim (\`src/sys/shim.c\`, run from a sealed memfd), so that an executable naming \`/proc/self/exe\` as
its interpreter starts the shim, never box's binary (\`test/security/exe-overwrite.test.ts\` runs that
attack). The alternatives, measured by \`bench/exe-protection.c\` in the same run, median of ${e.runs}, µs:

| defence | per start |
| --- | ---: |
| sealed memfd copy of box's whole binary (${(e.binaryBytes / 2 ** 20).toFixed(0)} MiB; runc 1.0-rc6's fix) | ${e.copy} |
| read-only bind of the binary in a private mount namespace (mount, remount, unmount) | ${e.robind} |
| box's shim: fork + exec of \`/bin/true\` through it (${e.shim}) − without it (${e.direct}) | ${e.shim - e.direct} |

The copy costs more than a whole \`box run\`. The read-only bind is cheap too, but it protects
only the init's payload: a \`box exec\` command is exec'd by the CLI, whose binary is the host's
file, and making that one read-only would need a mount namespace and a re-exec of the CLI (a Bun
start, milliseconds). The shim covers both for the cost of one exec of a tiny static program.
`;
}

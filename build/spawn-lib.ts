// Compiles the fork→exec trampoline (src/sys/spawn.c) into a shared object, and the watcher of
// detached containers (src/sys/watch.c) and the exec shim (src/sys/shim.c) into static
// executables, all embedded in box. The trampoline is built once here instead of by TinyCC at
// every start: that saved ~3 ms in each of box's two processes per `box run` (see
// docs/ARCHITECTURE.md, "Build").
import { $ } from "bun";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { compileFreestanding } from "./freestanding.ts";

/**
 * Embedded as base64 text: decoding it is synchronous, where reading an embedded file would
 * start Bun's I/O thread pool (~0.5 ms) in both of box's processes.
 */
function embed(path: string): void {
  writeFileSync(`${path}.b64`, readFileSync(path).toString("base64"));
}

export async function buildSpawnLib(): Promise<void> {
  mkdirSync("dist", { recursive: true });
  // -nostdlib: its two libc symbols (syscall, __errno_location) resolve against the libc Bun
  // already loaded, so building needs no libc development files.
  await $`cc -O2 -fPIC -shared -nostdlib -Wall -Werror -o dist/libboxspawn.so src/sys/spawn.c`;
  embed("dist/libboxspawn.so");
  // The watcher of detached containers, a few KB.
  compileFreestanding("src/sys/watch.c", "dist/box-watch");
  embed("dist/box-watch");
  // The health timer of a detached container with a health check, a few KB.
  compileFreestanding("src/sys/health-timer.c", "dist/box-health-timer");
  embed("dist/box-health-timer");
  // The child's steps on their own, for box oci's init with a user namespace: ~15 KB.
  compileFreestanding("src/sys/stage2.c", "dist/box-stage2");
  embed("dist/box-stage2");
  // The exec shim of every process started in a container: no data, ~1 KB.
  compileFreestanding("src/sys/shim.c", "dist/box-shim", { packed: true });
  embed("dist/box-shim");
}

if (import.meta.main) await buildSpawnLib();

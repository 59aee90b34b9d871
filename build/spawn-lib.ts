// Compiles the fork→exec trampoline (src/sys/spawn.c) into a shared object, and the watcher of
// detached containers (src/sys/watch.c) into a static executable, both embedded in box. The
// trampoline is built once here instead of by TinyCC at every start: that saved ~3 ms in each of
// box's two processes per `box run` (see docs/ARCHITECTURE.md, "Build").
import { $ } from "bun";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";

export const SPAWN_LIB = "dist/libboxspawn.so";
export const WATCHER = "dist/box-watch";
export const SHIM = "dist/box-shim";

export async function buildSpawnLib(): Promise<void> {
  mkdirSync("dist", { recursive: true });
  // -nostdlib: its two libc symbols (syscall, __errno_location) resolve against the libc Bun
  // already loaded, so building needs no libc development files.
  await $`cc -O2 -fPIC -shared -nostdlib -Wall -Werror -o ${SPAWN_LIB} src/sys/spawn.c`;
  // Embedded as base64 text: decoding it is synchronous, where reading an embedded file would
  // start Bun's I/O thread pool (~0.5 ms) in both of box's processes.
  writeFileSync(`${SPAWN_LIB}.b64`, readFileSync(SPAWN_LIB).toString("base64"));
  // The watcher of detached containers: a static executable without libc, a few KB.
  await $`cc -Os -static -nostdlib -ffreestanding -fno-builtin -fno-stack-protector -fno-pie -no-pie -Wall -Werror -o ${WATCHER} src/sys/watch.c`;
  writeFileSync(`${WATCHER}.b64`, readFileSync(WATCHER).toString("base64"));
  // The exec shim of every process started in a container (src/sys/shim.c), as small.
  // -n: no page alignment of its one segment, so it is ~1 KB rather than ~9.
  await $`cc -Os -static -nostdlib -ffreestanding -fno-builtin -fno-stack-protector -fno-pie -no-pie -Wl,-n -Wl,--build-id=none -Wl,-z,norelro -Wall -Werror -o ${SHIM} src/sys/shim.c`;
  await $`strip ${SHIM}`;
  writeFileSync(`${SHIM}.b64`, readFileSync(SHIM).toString("base64"));
}

if (import.meta.main) await buildSpawnLib();

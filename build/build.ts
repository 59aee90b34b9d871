// Compiles box into one standalone executable: dist/box (with the spawn trampoline inside).
import { $ } from "bun";
import { buildSpawnLib } from "./spawn-lib.ts";

const outfile = process.argv[2] ?? "dist/box";
const started = performance.now();
await buildSpawnLib();
await $`bun build --compile --minify --bytecode --format=esm src/main.ts --outfile ${outfile}`.quiet();
const size = Bun.file(outfile).size;
console.log(`built ${outfile} (${(size / 1e6).toFixed(1)} MB) in ${Math.round(performance.now() - started)} ms`);

// Compiles box into one standalone executable: dist/box (with the spawn trampoline inside).
import { $ } from "bun";
import { buildSpawnLib } from "./spawn-lib.ts";
import { buildSeccompDefault } from "./seccomp-default.ts";

const outfile = process.argv[2] ?? "dist/box";
const started = performance.now();
await buildSpawnLib();
buildSeccompDefault();
// --splitting: the init loads only its own modules; --bytecode (needs esm): no parsing at start;
// no autoloading: a .env or bunfig.toml in the operator's directory must not change box.
await $`bun build --compile --splitting --minify --bytecode --format=esm --no-compile-autoload-dotenv --no-compile-autoload-bunfig src/main.ts --outfile ${outfile}`.quiet();
const size = Bun.file(outfile).size;
console.log(`built ${outfile} (${(size / 1e6).toFixed(1)} MB) in ${Math.round(performance.now() - started)} ms`);

// Compiles box into one standalone executable: dist/box.
// --bytecode: measured fastest start (see docs/ARCHITECTURE.md, "Build"); --minify shrinks the
// embedded source, which Bun still parses at start.
import { $ } from "bun";

const outfile = process.argv[2] ?? "dist/box";
const started = performance.now();
await $`bun build --compile --minify --bytecode --format=esm src/main.ts --outfile ${outfile}`.quiet();
const size = Bun.file(outfile).size;
console.log(`built ${outfile} (${(size / 1e6).toFixed(1)} MB) in ${Math.round(performance.now() - started)} ms`);

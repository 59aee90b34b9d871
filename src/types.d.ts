// Built by `bun run build` (build/spawn-lib.ts) and embedded as base64 text: the spawn
// trampoline (libboxspawn.so) and the watcher of detached containers (box-watch).
declare module "*.b64" {
  const base64: string;
  export default base64;
}

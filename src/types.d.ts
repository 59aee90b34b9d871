// The spawn trampoline, built from src/sys/spawn.c and embedded as base64 text.
declare module "*.so.b64" {
  const base64: string;
  export default base64;
}

// The spawn trampoline, built from src/sys/spawn.c and embedded as a file.
declare module "*.so" {
  const path: string;
  export default path;
}

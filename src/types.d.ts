// C sources are imported as text and compiled at run time by bun:ffi's TinyCC.
declare module "*.c" {
  const source: string;
  export default source;
}

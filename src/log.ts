// Warnings and progress for people, on stderr; stdout stays for ids, names and data.
import { createConsola } from "consola";

export const log = createConsola({
  level: process.env.BOX_LOG_LEVEL === "debug" ? 4 : 3,
  stdout: process.stderr,
  stderr: process.stderr,
  formatOptions: { date: false, colors: !process.env.NO_COLOR && process.stderr.isTTY },
});

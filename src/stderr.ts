// One line for people on stderr: "box: LABEL: TEXT". The logger (log.ts) prints through it; code
// on `box run`'s start path calls it directly, without loading the logger.
import { write } from "./sys/fs.ts";

export function stderrLine(label: string, text: string): void {
  write(2, `box: ${label ? `${label}: ` : ""}${text}\n`);
}

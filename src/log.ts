// Warnings and progress for people, on stderr as "box: warning: ..."; stdout stays for ids,
// names and data. consola/core: the full consola costs ~5 ms at every start.
import { createConsola, type ConsolaInstance, type ConsolaReporter } from "consola/core";
import { stderrLine } from "./stderr.ts";

const LABELS: Record<string, string> = { fatal: "error", error: "error", warn: "warning", info: "", log: "", success: "", debug: "debug", trace: "trace" };

const stderrReporter: ConsolaReporter = {
  log(entry) {
    const label = LABELS[entry.type] ?? entry.type;
    stderrLine(label, entry.args.map((a) => (typeof a === "string" ? a : String(a))).join(" "));
  },
};

let instance: ConsolaInstance | undefined;

/** consola is made at the first warning, not at every start (~2 ms of one). */
export const log = {
  warn(message: string): void {
    instance ??= createConsola({ level: process.env.BOX_LOG_LEVEL === "debug" ? 4 : 3, reporters: [stderrReporter] });
    instance.warn(message);
  },
};

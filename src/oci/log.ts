// runc's --log and --log-format: containerd's shim reads the last `"level":"error"` line of the
// log file as the runtime's error, so every line box writes there is one JSON object (or, for
// --log-format text, a logfmt-like line for people).
import { O_APPEND, O_CREAT, O_WRONLY } from "../sys/constants.ts";
import { close, open, write, writeWaiting } from "../sys/fs.ts";

let target: { path: string; json: boolean } | undefined;
let debugging = false;

/** --log and --log-format; --debug adds what box does, step by step, to the log (or stderr). */
export function setLog(path: string | undefined, format: string, debug = false): void {
  target = path ? { path, json: format === "json" } : undefined;
  debugging = debug;
}

function line(level: string, msg: string, json: boolean): string {
  const time = new Date().toISOString();
  return json ? JSON.stringify({ level, msg, time }) : `time="${time}" level=${level} msg=${JSON.stringify(msg)}`;
}

function log(level: "error" | "warning" | "debug", msg: string): void {
  if (!target) return;
  const fd = open(target.path, O_WRONLY | O_CREAT | O_APPEND, 0o644);
  try {
    write(fd, `${line(level, msg, target.json)}\n`);
  } finally {
    close(fd);
  }
}

/** --debug: a step, to the log file where there is one (as runc's), else to stderr. */
export function debug(msg: string): void {
  if (!debugging) return;
  if (!target) return writeWaiting(2, `${line("debug", msg, false)}\n`);
  try {
    log("debug", msg);
  } catch {}
}

/** An error: to the log file (the shim's channel) and to stderr (a person's). */
export function logError(msg: string): void {
  try {
    log("error", msg);
  } catch {
    // The log file is not writable: stderr still says it.
  }
  writeWaiting(2, `box: ${msg}\n`);
}

export function warn(msg: string): void {
  try {
    log("warning", msg);
  } catch {}
  writeWaiting(2, `box: warning: ${msg}\n`);
}

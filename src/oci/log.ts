// runc's --log and --log-format: containerd's shim reads the last `"level":"error"` line of the
// log file as the runtime's error, so every line box writes there is one JSON object (or, for
// --log-format text, a logfmt-like line for people).
import { O_APPEND, O_CREAT, O_WRONLY } from "../sys/constants.ts";
import { close, open, write, writeWaiting } from "../sys/fs.ts";

let target: { path: string; json: boolean } | undefined;

export function setLog(path: string | undefined, format: string): void {
  target = path ? { path, json: format === "json" } : undefined;
}

function log(level: "error" | "warning", msg: string): void {
  if (!target) return;
  const time = new Date().toISOString();
  const line = target.json ? JSON.stringify({ level, msg, time }) : `time="${time}" level=${level} msg=${JSON.stringify(msg)}`;
  const fd = open(target.path, O_WRONLY | O_CREAT | O_APPEND, 0o644);
  try {
    write(fd, `${line}\n`);
  } finally {
    close(fd);
  }
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

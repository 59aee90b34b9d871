// Where the payload's standard streams go. Attached: the user's terminal or pipes (reopened, see
// stdio.ts), or a pty relayed to them. Detached (-d): pipes (or the pty) read by the init into
// the container's json-file log, and the init lets go of the terminal it was started from.
import { close, open } from "../sys/fs.ts";
import { fdSink, pump, pumpPipe } from "../container/relay.ts";
import { O_RDONLY, O_RDWR } from "../sys/constants.ts";
import { pipe, redirectFd } from "../sys/process.ts";
import type { Pty } from "../sys/tty.ts";
import { LogWriter, type LogEntries, type LogStream } from "../container/logs.ts";
import type { ContainerSpec } from "../container/spec.ts";
import { reopenStdio } from "./stdio.ts";

export interface PayloadOutput {
  /** [init's fd, payload's fd] for the spawn. */
  fds: [number, number][];
  /** After the spawn: close the payload's ends, start relaying. */
  started(): void;
  /** After the payload and everything it left are dead: wait (at most 1 s) for the last bytes. */
  drained(): Promise<void>;
  /** Left to the watcher (src/sys/watch.c) instead of read here: the ends it reads. */
  watch?: { stdout: number; stderr: number };
  /** Detached with -i or -t: the end this process holds of the payload's input (box attach copies it). */
  input?: number;
}

/**
 * `interactive`: a prompt, or the echo of keys typed, waits for no newline: what is left of a line
 * is logged after a moment anyway, so that box attach (which follows the log) shows it.
 */
function logSink(log: LogEntries, stream: LogStream, interactive = false): (chunk: Uint8Array) => void {
  const decoder = new TextDecoder();
  let timer: ReturnType<typeof setTimeout> | undefined;
  return (chunk) => {
    log.add(stream, decoder.decode(chunk, { stream: true }));
    if (!interactive) return;
    clearTimeout(timer);
    timer = setTimeout(() => log.flush(stream), PROMPT_DELAY_MS);
  };
}

const PROMPT_DELAY_MS = 20;

function settle(work: Promise<unknown>): Promise<void> {
  return Promise.race([work.then(() => {}), Bun.sleep(1000)]);
}

export function attachedOutput(spec: ContainerSpec, pty: Pty | undefined): PayloadOutput {
  if (pty) {
    let relay = Promise.resolve();
    return {
      fds: [[pty.slave, 0], [pty.slave, 1], [pty.slave, 2]],
      started() {
        close(pty.slave);
        // Between the user's terminal (our stdio) and the payload's pty.
        if (spec.interactive) void pump(reopenStdio(0), fdSink(pty.master));
        relay = pump(pty.master, fdSink(reopenStdio(1)));
      },
      drained: () => settle(relay),
    };
  }
  const attached = (s: "stdin" | "stdout" | "stderr") => spec.attach === undefined || spec.attach.includes(s);
  const stdin = spec.interactive && attached("stdin") ? reopenStdio(0) : open("/dev/null", O_RDONLY);
  const out = (fd: 1 | 2) => (attached(fd === 1 ? "stdout" : "stderr") ? reopenStdio(fd) : open("/dev/null", O_RDWR));
  return { fds: [[stdin, 0], [out(1), 1], [out(2), 2]], started() {}, drained: async () => {} };
}

/** box oci --console-socket: the payload's terminal is the pty whose master went to the caller. */
export function consoleOutput(pty: Pty): PayloadOutput {
  return { fds: [[pty.slave, 0], [pty.slave, 1], [pty.slave, 2]], started: () => close(pty.slave), drained: async () => {} };
}

/**
 * `dir` is the container's persistent directory, reached from the init (a /proc/self/fd path).
 * `watched`: the watcher will read the pipes (see watch.ts); this process only makes them.
 * `driverLog`: --log-driver syslog or journald, whose daemon gets the entries instead of json.log.
 */
export function detachedOutput(spec: ContainerSpec, pty: Pty | undefined, dir: string, watched: boolean, driverLog?: () => LogEntries): PayloadOutput {
  const pumps: Promise<void>[] = [];
  let log: LogEntries | undefined;
  // -i without a terminal to read from: a pipe that the init holds open, so reads block, as
  // Docker's `run -di` leaves a shell waiting.
  // (The write end stays open until the init exits: box attach writes there, through a copy.)
  const [stdinRead, stdinWrite] = spec.interactive && !pty ? pipe() : [open("/dev/null", O_RDONLY)];
  // --log-driver none: without a pty the payload writes to /dev/null, and the watcher's ends are
  // at EOF at once; a pty is still read (a full one would stop the payload), into nothing.
  const discard = spec.log.driver === "none" && !pty;
  const [outRead, outWrite] = pty ? [pty.master, pty.slave] : discard ? [open("/dev/null", O_RDONLY), open("/dev/null", O_RDWR)] : pipe();
  const [errRead, errWrite] = pty ? [pty.master, pty.slave] : discard ? [open("/dev/null", O_RDONLY), outWrite] : pipe();
  const readHere = () => {
    log = driverLog ? driverLog() : new LogWriter(dir, spec.log);
    const interactive = spec.interactive || pty !== undefined;
    if (pty) pumps.push(pump(outRead, spec.log.driver === "none" ? () => {} : logSink(log, "stdout", interactive)));
    else pumps.push(pumpPipe(outRead, logSink(log, "stdout", interactive)), pumpPipe(errRead, logSink(log, "stderr", interactive)));
  };
  return {
    fds: pty ? [[pty.slave, 0], [pty.slave, 1], [pty.slave, 2]] : [[stdinRead, 0], [outWrite, 1], [errWrite, 2]],
    watch: watched ? { stdout: outRead, stderr: errRead } : undefined,
    input: pty ? pty.master : stdinWrite,
    started() {
      for (const fd of new Set([stdinRead, outWrite, errWrite])) close(fd);
      // The terminal `box run -d` was typed in may close: the init holds nothing of it.
      const devNull = open("/dev/null", O_RDWR);
      for (const fd of [0, 1, 2]) redirectFd(devNull, fd);
      close(devNull);
      if (!watched) readHere();
    },
    async drained() {
      // Watched, but the payload ended before the hand-over: its output is still in the pipes.
      if (!log) readHere();
      await settle(Promise.all(pumps));
      log?.close();
    },
  };
}

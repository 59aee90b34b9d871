// box attach: a detached container's output from now on, its input (started with -i), the
// signals box attach gets, and its exit code when it ends. box has no daemon holding the
// container's streams: output comes from following its log (as `box logs -f --tail 0`), and
// input through a copy of the init's end of the payload's stdin (src/container/attach.ts).
import { defineCommand } from "citty";
import { close, write } from "../sys/fs.ts";
import { exitNow, FORWARDED_SIGNALS, kill } from "../sys/process.ts";
import { copyWindowSize, isTerminal, makeRaw } from "../sys/tty.ts";
import { UserError } from "../container/errors.ts";
import { findContainer } from "../container/lookup.ts";
import { liveContainer } from "../container/live.ts";
import type { Store } from "../container/store.ts";
import type { ContainerSpec } from "../container/spec.ts";
import { logEnd, readableLog } from "../container/logs.ts";
import { openPayloadInput } from "../container/attach.ts";
import { waitExit } from "../container/control.ts";
import { fdSink, pump } from "../container/relay.ts";
import { reopenStdio } from "../init/stdio.ts";
import { globals } from "./context.ts";
import { parseFlags } from "./flags.ts";
import { printHelp } from "./help.ts";
import { followLog, printEntry } from "./logs.ts";
import { parseDetachKeys } from "./detach-keys.ts";

/**
 * The bytes typed, less the detach sequence: `onDetach` when it is complete; a part of it
 * followed by anything else goes on as it was typed (Docker's escape proxy).
 */
function detachFilter(keys: number[], onDetach: () => void, sink: (chunk: Uint8Array) => void): (chunk: Uint8Array) => void {
  let matched = 0;
  return (chunk) => {
    const out: number[] = [];
    for (const b of chunk) {
      if (b === keys[matched]) {
        if (++matched === keys.length) return onDetach();
        continue;
      }
      out.push(...keys.slice(0, matched));
      matched = b === keys[0] ? 1 : 0;
      if (matched === 0) out.push(b);
    }
    if (out.length) sink(Uint8Array.from(out));
  };
}

/**
 * Every signal box attach can catch goes to the container's init, which passes it to the payload
 * (as `box kill -s` does, but ending no restart policy); checked to be the init each time.
 */
function proxySignals(store: Store, spec: ContainerSpec): void {
  for (const [name, num] of FORWARDED_SIGNALS) {
    try {
      process.on(name as NodeJS.Signals, () => {
        const pid = liveContainer(store, spec).pid;
        if (pid !== undefined) kill(pid, num);
      });
    } catch {
      // Bun does not let JavaScript handle this one.
    }
  }
}

export const attachCommand = defineCommand({
  meta: { name: "attach", description: "Attach to a running container's output, input (-i) and signals" },
  args: {
    "no-stdin": { type: "boolean", description: "Do not attach stdin" },
    "sig-proxy": { type: "boolean", description: "Pass the signals box attach receives to the container (default true; not with -t)" },
    "detach-keys": { type: "string", description: "Keys that detach from a -t container, leaving it running (default ctrl-p,ctrl-q)", valueHint: "KEYS" },
    container: { type: "positional", description: "Container name or id (prefix)", required: false },
  },
  async run({ rawArgs, cmd }) {
    const flags = parseFlags(rawArgs, cmd.args as never, [], false);
    if (flags.help) return printHelp(cmd, ["box attach web", "box attach --no-stdin --sig-proxy=false web", "box attach --detach-keys ctrl-x,x shell"]);
    if (flags.positionals.length !== 1) throw new UserError(`"box attach" requires exactly 1 argument`);
    const detachKeys = parseDetachKeys((flags.values["detach-keys"] as string | undefined) ?? "ctrl-p,ctrl-q");
    const { store } = globals();
    const spec = findContainer(store, flags.positionals[0]!);
    const c = liveContainer(store, spec);
    if (c.pid === undefined) throw new UserError("You cannot attach to a stopped container, start it first");
    if (c.state.status === "paused") throw new UserError("You cannot attach to a paused container, unpause it first");
    if (c.state.status === "restarting") throw new UserError("You cannot attach to a restarting container, wait until it is running");
    // Output is the log's: a driver that keeps none leaves nothing to follow.
    if (!readableLog(spec.log)) throw new UserError(`configured logging driver does not support reading: box attach follows the log, and ${spec.name} has --log-driver ${spec.log.driver}`);
    const withStdin = spec.interactive && flags.values["no-stdin"] !== true;
    if (withStdin && spec.tty && !isTerminal(0)) throw new UserError("the input device is not a TTY");
    const from = logEnd(c.paths.dir);

    // A -t container's master also takes the terminal's size, as Docker's attach resizes it.
    const input = withStdin || (spec.tty && isTerminal(0)) ? openPayloadInput(store, c as typeof c & { pid: number }) : undefined;
    const restoreTerminal = spec.tty && withStdin ? makeRaw(0) : undefined;
    const end = (code: number, message?: string): never => {
      restoreTerminal?.();
      if (message) write(2, message);
      exitNow(code);
    };
    if (spec.tty && input !== undefined) {
      copyWindowSize(0, input);
      process.on("SIGWINCH", () => copyWindowSize(0, input));
    }
    // As Docker's: with -t the terminal's keys go to the container (^C included), and no signal is proxied.
    if (flags.values["sig-proxy"] !== false && !spec.tty) proxySignals(store, spec);
    if (withStdin && input !== undefined) {
      const toContainer = fdSink(input);
      const sink = spec.tty ? detachFilter(detachKeys, () => end(1, "read escape sequence\n"), toContainer) : toContainer;
      // At the end of box attach's input the container's stays open (the init holds it), as Docker's.
      void pump(reopenStdio(0), sink).then(() => close(input));
    }

    await followLog(store, spec, c.paths.dir, from, (e) => printEntry(e));
    let code: number;
    try {
      code = await waitExit(store, spec);
    } catch (e) {
      restoreTerminal?.();
      throw e;
    }
    end(code);
  },
});

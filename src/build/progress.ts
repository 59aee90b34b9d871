// What a build shows while it works, as BuildKit's plain progress: a numbered line per step, the
// output of RUN under its number with the time since the step began, CACHED or DONE with the
// step's time, ERROR with the reason. On stderr; -q shows nothing (the image id goes to stdout).
import { write } from "../sys/fs.ts";

export interface Progress {
  /** Runs a step under its label; `log` prints a line of it (RUN's output, what export did). */
  step<T>(label: string, work: (log: (line: string) => void) => Promise<T> | T): Promise<T>;
  /** A step the cache answered. */
  cached(label: string): void;
}

export function plainProgress(quiet: boolean): Progress {
  let n = 0;
  const out = (text: string) => {
    if (!quiet) write(2, text);
  };
  return {
    async step(label, work) {
      const id = ++n;
      const started = performance.now();
      out(`#${id} ${label}\n`);
      const seconds = () => ((performance.now() - started) / 1000).toFixed(3);
      try {
        const result = await work((line) => out(`#${id} ${seconds()} ${line}\n`));
        out(`#${id} DONE ${((performance.now() - started) / 1000).toFixed(1)}s\n\n`);
        return result;
      } catch (e) {
        out(`#${id} ERROR: ${e instanceof Error ? e.message : String(e)}\n\n`);
        throw e;
      }
    },
    cached(label) {
      const id = ++n;
      out(`#${id} ${label}\n#${id} CACHED\n\n`);
    },
  };
}

/** Lines of a running step's output a terminal shows (the rest scrolls away, as BuildKit's). */
const WINDOW = 6;

/**
 * On a terminal (--progress tty, or auto when stderr is one): the same steps, but a RUN's output
 * shows as a window of its last lines under the step, redrawn in place and folded away when the
 * step is done; a step that fails leaves its last lines.
 */
export function ttyProgress(columns = process.stderr.columns || 80): Progress {
  const plain = plainProgress(false);
  return {
    cached: plain.cached,
    async step(label, work) {
      let shown: string[] = [];
      let drawn = 0;
      const draw = (lines: string[]) => {
        let out = drawn ? `\x1b[${drawn}A\x1b[J` : "";
        for (const l of lines) out += `\x1b[2m${l.slice(0, Math.max(10, columns - 1))}\x1b[0m\n`;
        write(2, out);
        drawn = lines.length;
      };
      let failed = false;
      try {
        return await plain.step(label, async (log) => {
          try {
            return await work((line) => {
              shown = [...shown, line].slice(-WINDOW);
              draw(shown);
            });
          } catch (e) {
            failed = true;
            throw e;
          } finally {
            // Folded away when done; kept (plainly) when it failed.
            const last = shown;
            draw([]);
            if (failed) for (const l of last) log(l);
          }
        });
      } finally {
        drawn = 0;
      }
    },
  };
}

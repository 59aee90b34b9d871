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

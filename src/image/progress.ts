// What a pull shows: on a terminal, a line per layer updated in place (Docker's display); else
// plain lines, one per change of state, fit for a log.
export class PullProgress {
  private readonly order: string[] = [];
  private readonly lines = new Map<string, string>();

  constructor(
    private readonly out: { write(s: string): unknown },
    private readonly terminal: boolean,
  ) {}

  /** A line of its own (not a layer's). */
  say(text: string): void {
    this.out.write(`${text}\n`);
  }

  /** A layer's state: "Pulling fs layer", "Download complete", "Pull complete", ... */
  status(id: string, text: string): void {
    if (!this.terminal) return void this.out.write(`${id}: ${text}\n`);
    this.update(id, `${id}: ${text}`);
  }

  /** Bytes so far; shown on a terminal only. */
  bytes(id: string, done: number, total: number): void {
    if (!this.terminal) return;
    const width = 40;
    const filled = total > 0 ? Math.min(width, Math.floor((done / total) * width)) : 0;
    const bar = `[${"=".repeat(Math.max(0, filled - 1))}${filled > 0 ? ">" : ""}${" ".repeat(width - filled)}]`;
    this.update(id, `${id}: Downloading ${bar} ${mb(done)}/${mb(total)}`);
  }

  private update(id: string, line: string): void {
    if (!this.lines.has(id)) {
      this.order.push(id);
      this.lines.set(id, line);
      return void this.out.write(`${line}\n`);
    }
    if (this.lines.get(id) === line) return;
    this.lines.set(id, line);
    // Up to the layer's line, rewrite it, back down.
    const up = this.order.length - this.order.indexOf(id);
    this.out.write(`\x1b[${up}A\r\x1b[2K${line}\n${up > 1 ? `\x1b[${up - 1}B` : ""}`);
  }
}

function mb(n: number): string {
  return n >= 1e6 ? `${(n / 1e6).toFixed(1)}MB` : `${(n / 1e3).toFixed(1)}kB`;
}

// Copying a stream of bytes between descriptors without blocking the event loop: the relay
// between a terminal and a pty (attached -t, box exec -t), and a payload's pipes into its log.
import { write } from "../sys/fs.ts";

/**
 * Copies everything read from `from` to `sink` until EOF or a read error (EIO once a pty has no
 * slave left). node:fs's asynchronous read is loaded only here (~0.8 ms, for -t and -d alone):
 * Bun.file streams use pread, which a pty refuses.
 */
export async function pump(from: number, sink: (chunk: Uint8Array) => void): Promise<void> {
  const { read } = await import("node:fs");
  const buf = Buffer.alloc(16384);
  return new Promise((resolve) => {
    const next = () =>
      read(from, buf, 0, buf.length, null, (err, n) => {
        if (err || n === 0) return resolve();
        sink(buf.subarray(0, n));
        next();
      });
    next();
  });
}

/**
 * The same for a pipe, through Bun's own non-blocking reader: no node:fs to load (a detached
 * start is on a script's critical path). Pipes only: the reader's pread fails on a pty.
 */
export async function pumpPipe(from: number, sink: (chunk: Uint8Array) => void): Promise<void> {
  try {
    for await (const chunk of Bun.file(from).stream()) sink(chunk);
  } catch {
    // A read error ends it like EOF.
  }
}

/** A sink writing to fd; once a write fails (the reader went away) it drops data, so that the payload never blocks. */
export function fdSink(to: number): (chunk: Uint8Array) => void {
  let writable = true;
  return (chunk) => {
    if (!writable) return;
    try {
      write(to, chunk);
    } catch {
      writable = false;
    }
  };
}


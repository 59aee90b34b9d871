// Pseudo-terminals and terminal modes.
import { open } from "./fs.ts";
import { O_CLOEXEC, O_NOCTTY, O_RDWR } from "./constants.ts";
import { check, libc } from "./libc.ts";

const TIOCGPTN = 0x80045430;
const TIOCSPTLCK = 0x40045431;
const TIOCGWINSZ = 0x5413;
const TIOCSWINSZ = 0x5414;
const TCSANOW = 0;

export interface Pty {
  master: number;
  slave: number;
  slavePath: string;
}

/** Opens a pty pair from the devpts instance behind `ptmx` (the container's own). */
export function openPty(ptmx = "/dev/ptmx"): Pty {
  const master = open(ptmx, O_RDWR | O_NOCTTY);
  const n = new Int32Array(1);
  check(libc.ioctl(master, TIOCSPTLCK, n), "ioctl TIOCSPTLCK", ptmx);
  check(libc.ioctl(master, TIOCGPTN, n), "ioctl TIOCGPTN", ptmx);
  const slavePath = `${ptmx.replace(/ptmx$/, "")}pts/${n[0]}`;
  const slave = open(slavePath, O_RDWR | O_NOCTTY);
  return { master, slave, slavePath };
}

const TIOCGPTPEER = 0x5441;

/**
 * A pty pair from an already open ptmx (e.g. a container's, opened from the host): the slave
 * comes from the master itself (TIOCGPTPEER), never by a path that could lead elsewhere.
 */
export function openPtyPeer(master: number): { master: number; slave: number } {
  check(libc.ioctl(master, TIOCSPTLCK, new Int32Array(1)), "ioctl TIOCSPTLCK");
  const slave = check(libc.ioctl(master, TIOCGPTPEER, (O_RDWR | O_NOCTTY | O_CLOEXEC) as never), "ioctl TIOCGPTPEER");
  return { master, slave };
}

export function isTerminal(fd: number): boolean {
  return libc.isatty(fd) === 1;
}

/** Copies the window size of terminal `from` to terminal `to`; false when `from` is no terminal. */
export function copyWindowSize(from: number, to: number): boolean {
  const ws = new Uint16Array(4);
  if (libc.ioctl(from, TIOCGWINSZ, ws) !== 0) return false;
  return libc.ioctl(to, TIOCSWINSZ, ws) === 0;
}

/** Sets a terminal's size (a bundle's process.consoleSize). */
export function setWindowSize(fd: number, rows: number, columns: number): void {
  check(libc.ioctl(fd, TIOCSWINSZ, new Uint16Array([rows, columns, 0, 0])), "ioctl TIOCSWINSZ");
}

/** Puts a terminal in raw mode; returns a function that restores it. */
export function makeRaw(fd: number): () => void {
  const saved = Buffer.alloc(64);
  check(libc.tcgetattr(fd, saved), "tcgetattr");
  const raw = Buffer.from(saved);
  libc.cfmakeraw(raw);
  check(libc.tcsetattr(fd, TCSANOW, raw), "tcsetattr");
  return () => {
    libc.tcsetattr(fd, TCSANOW, saved);
  };
}

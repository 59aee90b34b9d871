// box pull, and the pull `box run` makes of a missing image.
import { defineCommand } from "citty";
import { UserError } from "../container/errors.ts";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { authFile, credentialsFor } from "../image/auth.ts";
import { PullProgress } from "../image/progress.ts";
import { parsePlatform, pullImage } from "../image/pull.ts";
import { parseReference } from "../image/reference.ts";
import type { ImageRecord } from "../image/store.ts";
import { isTerminal } from "../sys/tty.ts";
import { globals } from "./context.ts";
import { parseFlags } from "./flags.ts";
import { printHelp } from "./help.ts";

export const PULL_ARGS = {
  platform: { type: "string", description: "OS/ARCH[/VARIANT] to pull from a multi-platform image (default: this machine's)", valueHint: "PLATFORM" },
  insecure: { type: "boolean", description: "Allow plain HTTP, or HTTPS with any certificate, for this registry" },
  authfile: { type: "string", description: "Credentials file (default $XDG_CONFIG_HOME/box/auth.json, then ~/.docker/config.json)", valueHint: "FILE" },
  "cert-dir": { type: "string", description: "Trust the CA certificates (*.crt) in this directory for the registry (default /etc/box/certs.d/HOST, then /etc/docker/certs.d/HOST)", valueHint: "DIR" },
} as const;

export interface PullFlags {
  platform?: string;
  "cert-dir"?: string;
  insecure?: boolean;
  authfile?: string;
  quiet?: boolean;
}

export const pullCommand = defineCommand({
  meta: { name: "pull", description: "Download an image from a registry" },
  args: {
    ...PULL_ARGS,
    quiet: { type: "boolean", alias: "q", description: "Print only the image's name" },
    image: { type: "positional", description: "NAME[:TAG|@DIGEST]", required: false },
  },
  async run({ rawArgs, cmd }) {
    const flags = parseFlags(rawArgs, cmd.args as never, [], false);
    if (flags.help) return printHelp(cmd, ["box pull busybox", "box pull --platform linux/arm64 alpine:3.20", "box pull localhost:5000/app@sha256:…"]);
    const [ref, extra] = flags.positionals;
    if (!ref || extra !== undefined) throw new UserError(`"box pull" requires exactly 1 argument: NAME[:TAG|@DIGEST]`);
    await pull(ref, flags.values as PullFlags, 1);
    if (flags.values.quiet) process.stdout.write(`${parseReference(ref).ref}\n`);
  },
});

/** Pulls with the flags' settings; progress goes to fd 1, or 2 for `box run` (as Docker). */
export async function pull(ref: string, flags: PullFlags, fd: 1 | 2): Promise<ImageRecord> {
  const reference = parseReference(ref);
  const out = flags.quiet ? { write: () => true } : fd === 1 ? process.stdout : process.stderr;
  const progress = new PullProgress(out, !flags.quiet && isTerminal(fd));
  return pullImage(globals().store.root, ref, {
    platform: flags.platform ? parsePlatform(flags.platform) : undefined,
    insecure: flags.insecure === true,
    credentials: credentialsFor(reference.domain, authFile(flags.authfile)),
    ca: trustedCa(reference.domain, flags["cert-dir"]),
    progress,
  });
}

// Docker's per-registry CAs: /etc/docker/certs.d/HOST/*.crt; box reads /etc/box/certs.d first,
// and podman's --cert-dir before both.
function trustedCa(domain: string, certDir: string | undefined): string | undefined {
  const dirs = certDir !== undefined ? [certDir] : [`/etc/box/certs.d/${domain}`, `/etc/docker/certs.d/${domain}`];
  for (const dir of dirs) {
    if (!existsSync(dir)) {
      if (certDir !== undefined) throw new UserError(`--cert-dir ${certDir}: no such directory`);
      continue;
    }
    const pems = readdirSync(dir).filter((f) => f.endsWith(".crt")).sort().map((f) => readFileSync(`${dir}/${f}`, "utf8"));
    if (pems.length) return pems.join("\n");
  }
  return undefined;
}

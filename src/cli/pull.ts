// box pull, and the pull `box run` makes of a missing image.
import { defineCommand } from "citty";
import { UserError } from "../container/errors.ts";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { authFile, credentialsFor } from "../image/auth.ts";
import { PullProgress } from "../image/progress.ts";
import { parsePlatform, pullImage } from "../image/pull.ts";
import { pushImage } from "../image/push.ts";
import type { RegistryOptions } from "../image/registry.ts";
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

export const pushCommand = defineCommand({
  meta: { name: "push", description: "Upload an image to a registry" },
  args: {
    insecure: PULL_ARGS.insecure,
    authfile: PULL_ARGS.authfile,
    "cert-dir": PULL_ARGS["cert-dir"],
    quiet: { type: "boolean", alias: "q", description: "No progress" },
    image: { type: "positional", description: "NAME[:TAG] (box tag gives an image a registry's name)", required: false },
  },
  async run({ rawArgs, cmd }) {
    const flags = parseFlags(rawArgs, cmd.args as never, [], false);
    if (flags.help) return printHelp(cmd, ["box tag app localhost:5000/app:1 && box push localhost:5000/app:1"]);
    const [ref, extra] = flags.positionals;
    if (!ref || extra !== undefined) throw new UserError(`"box push" requires exactly 1 argument: NAME[:TAG]`);
    const values = flags.values as PullFlags;
    const reference = parseReference(ref);
    await pushImage(globals().store.root, ref, { ...registryOptions(reference.domain, values), progress: progressTo(1, values.quiet) });
  },
});

/** Pulls with the flags' settings; progress goes to fd 1, or 2 for `box run` (as Docker). */
export async function pull(ref: string, flags: PullFlags, fd: 1 | 2): Promise<ImageRecord> {
  const reference = parseReference(ref);
  return pullImage(globals().store.root, ref, {
    ...registryOptions(reference.domain, flags),
    platform: flags.platform ? parsePlatform(flags.platform) : undefined,
    progress: progressTo(fd, flags.quiet),
  });
}

function registryOptions(domain: string, flags: PullFlags): RegistryOptions {
  return { insecure: flags.insecure === true, credentials: credentialsFor(domain, authFile(flags.authfile)), ca: trustedCa(domain, flags["cert-dir"]) };
}

function progressTo(fd: 1 | 2, quiet: boolean | undefined): PullProgress {
  return new PullProgress(quiet ? { write: () => true } : fd === 1 ? process.stdout : process.stderr, !quiet && isTerminal(fd));
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

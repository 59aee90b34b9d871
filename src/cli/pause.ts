import { defineCommand } from "citty";
import { UserError } from "../container/errors.ts";
import { requireRunning } from "../container/live.ts";
import { setPaused } from "../container/pause.ts";
import { onEachContainer } from "./each.ts";
import { recordContainerEvent } from "../container/events.ts";

function freezeCommand(name: "pause" | "unpause", description: string) {
  const frozen = name === "pause";
  return defineCommand({
    meta: { name, description },
    args: { container: { type: "positional", description: "Container name or id (prefix), one or more", required: false } },
    run: ({ rawArgs, cmd }) =>
      onEachContainer(name, cmd, rawArgs, [`box ${name} web`], async (_flags, store, spec, ref) => {
        const c = requireRunning(store, spec, ref);
        if ((c.state.status === "paused") === frozen) throw new UserError(`container ${ref} is ${frozen ? "already paused" : "not paused"}`);
        await setPaused(c, frozen, name);
        recordContainerEvent(store.root, spec, name);
        return ref;
      }),
  });
}

export const pauseCommand = freezeCommand("pause", "Freeze every process of one or more containers");
export const unpauseCommand = freezeCommand("unpause", "Resume paused containers");

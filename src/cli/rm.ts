import { defineCommand } from "citty";
import { removeStoredContainer } from "../container/remove.ts";
import { onEachContainer } from "./each.ts";

export const rmCommand = defineCommand({
  meta: { name: "rm", description: "Remove one or more containers" },
  args: {
    force: { type: "boolean", alias: "f", description: "Kill a running container first" },
    volumes: { type: "boolean", alias: "v", description: "Remove the anonymous volumes of the container too" },
    container: { type: "positional", description: "Container name or id (prefix), one or more", required: false },
  },
  run: ({ rawArgs, cmd }) =>
    onEachContainer("rm", cmd, rawArgs, ["box rm web", "box rm -f 3f2a9c"], async (flags, store, spec, ref) => {
      await removeStoredContainer(store, spec, flags.values.force === true, flags.values.volumes === true);
      return ref;
    }, (flags) => flags.values.force === true),
});

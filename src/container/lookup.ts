// Finds a container by name, full id or unique id prefix, as Docker does.
import { exists, readFile } from "../sys/fs.ts";
import { join } from "../path.ts";
import { NoSuchContainer, UserError } from "./errors.ts";
import { containerConfig, generatedName, isGeneratedName, layout, listContainerIds, type Store } from "./store.ts";
import type { ContainerSpec } from "./spec.ts";

/** Every container of the store. */
export function listContainers(store: Store): ContainerSpec[] {
  return listContainerIds(store).flatMap((id) => {
    try {
      return [containerConfig(store, id)];
    } catch {
      // Being created or removed right now: no config yet, or no more.
      return [];
    }
  });
}

/** Containers created from the image with this id (running or not: their upper layer needs it). */
export function containersUsing(store: Store, imageId: string): ContainerSpec[] {
  return listContainers(store).filter((spec) => spec.rootfs.kind === "image" && spec.rootfs.id === imageId);
}

/** The container that holds the name `name` (never one whose id merely starts so), if any. */
export function findNamed(store: Store, name: string): ContainerSpec | undefined {
  let id: string;
  try {
    id = readFile(join(store.root, layout.name(name)));
    return containerConfig(store, id);
  } catch {
    return undefined;
  }
}

export function findContainer(store: Store, ref: string): ContainerSpec {
  const byPrefix = (test: (id: string) => boolean) => {
    const matches = listContainerIds(store).filter(test);
    if (matches.length > 1) throw new UserError(`multiple containers match "${ref}": use more of the id`);
    return matches[0];
  };
  let id: string | undefined;
  if (/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(ref) && exists(join(store.root, layout.name(ref)))) {
    id = readFile(join(store.root, layout.name(ref)));
  } else if (isGeneratedName(ref)) {
    // box_<first 12 hex of the id>, claimed by no file (and no longer its name once renamed).
    id = byPrefix((c) => generatedName(c) === ref);
  } else if (/^[0-9a-f]{1,64}$/.test(ref)) {
    id = byPrefix((c) => c.startsWith(ref));
  }
  if (!id || !exists(join(store.root, layout.container(id), "config.json"))) throw new NoSuchContainer(ref);
  const spec = containerConfig(store, id);
  if (isGeneratedName(ref) && spec.name !== ref) throw new NoSuchContainer(ref);
  return spec;
}

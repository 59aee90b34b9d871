// box's version: in a module of its own, so that what prints it loads nothing else.
import pkg from "../package.json" with { type: "json" };

export const VERSION = pkg.version;

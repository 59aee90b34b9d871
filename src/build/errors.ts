// A build that fails (a bad Dockerfile, a missing source, a failing RUN) exits 1, as `docker
// build` does; box's own errors (a bad flag) stay 125.
import { UserError } from "../container/errors.ts";

export const EXIT_BUILD_FAILED = 1;

export class BuildError extends UserError {
  constructor(message: string) {
    super(message, EXIT_BUILD_FAILED);
  }
}

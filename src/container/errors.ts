// Exit codes as Docker's: 125 box's own error, 126 command cannot be run, 127 command not found.
export const EXIT_BOX_ERROR = 125;
export const EXIT_NOT_EXECUTABLE = 126;
export const EXIT_NOT_FOUND = 127;

/** An error the user caused or can fix: printed as one line, exits with `exitCode`. */
export class UserError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT_BOX_ERROR,
  ) {
    super(message);
    this.name = "UserError";
  }
}

/** A name or id that no container has (`rm -f` takes that for done, as Docker 20.10+). */
export class NoSuchContainer extends UserError {
  constructor(ref: string) {
    super(`no such container: ${ref}`);
  }
}

// The one shape of a config.json error: the field's path, then why.
import { UserError } from "../container/errors.ts";

/** The bundle's config said something box cannot do, or said it wrongly. */
export function refuse(where: string, why: string): never {
  throw new UserError(`config.json: ${where}: ${why}`);
}

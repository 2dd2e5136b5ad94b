/**
 * The command line itself is wrong (bad JSON in `--args`, an unknown status): exit code 2, as
 * commander's own parse errors, so scripts can tell "you called me wrongly" (2) from "the
 * cluster refused or could not be reached" (1).
 */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

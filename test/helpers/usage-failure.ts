import { UsageError } from '../../src/errors.js';

/** The one-line message of the UsageError (exit 2) that `fn` throws; any other outcome fails the test. */
export function failure(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof UsageError) return err.message;
    throw err;
  }
  throw new Error('expected a UsageError');
}

import { UsageError } from '../errors.js';

/** `Dockerfile:LINE: what`: every error about a Dockerfile's content names the file and line. */
export function dockerfileError(file: string, line: number, what: string): UsageError {
  return new UsageError('BAD_DOCKERFILE', `${file}:${line}: ${what}`);
}

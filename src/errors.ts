/**
 * The errors berth raises. Each carries a stable `code` (tests match on it, not on text) and
 * says whose fault it is: a UsageError (bad flags or bad input, exit 2) or an
 * OperationalError (network, registry, I/O, exit 1). Messages are one line naming the input
 * or server at fault and, where it helps, what to do. Context is added by wrapping with
 * `cause`, never by parsing messages.
 */
export type ErrorCode =
  | 'BAD_FLAG'
  | 'BAD_DIGEST'
  | 'BAD_PLATFORM'
  | 'BAD_REFERENCE'
  | 'BAD_TAG'
  | 'BAD_MANIFEST'
  | 'BAD_CONFIG'
  | 'BAD_LAYOUT'
  | 'BAD_IMAGE_FOLDER'
  | 'BUILD_BINARIES_FAILED'
  | 'NO_LOADER'
  | 'LOAD_FAILED'
  | 'SIGN_FAILED'
  | 'BAD_TARBALL'
  | 'BAD_TEMPLATE'
  | 'BAD_DOCKERFILE'
  | 'BAD_BERTH_YAML' | 'BAD_ENV' | 'BAD_STATUS_FILE'
  | 'DIGEST_MISMATCH'
  | 'NO_MATCHING_PLATFORM'
  | 'FOREIGN_BINARY'
  | 'NOT_FOUND'
  | 'UNREADABLE'
  | 'UNSAFE_PATH'
  | 'BAD_PATH'
  | 'IO'
  | 'NETWORK'
  | 'REGISTRY'
  | 'UNAUTHORIZED'
  | 'BAD_KEY' | 'FILE_EXISTS' | 'NO_SIGNATURES' | 'VERIFY_FAILED'
  /** A RUN engine (buildah, Docker) is not installed or not answering; it failed a step. */
  | 'ENGINE_MISSING' | 'ENGINE_FAILED';

export abstract class BerthError extends Error {
  abstract readonly exitCode: 1 | 2;
  constructor(
    readonly code: ErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Bad usage or bad input: the user must change something. Exit code 2. */
export class UsageError extends BerthError {
  readonly exitCode = 2 as const;
}

/** The environment failed: network, registry, disk. Exit code 1. */
export class OperationalError extends BerthError {
  readonly exitCode = 1 as const;
}

export function isBerthError(err: unknown): err is BerthError {
  return err instanceof BerthError;
}

/** `err` with `prefix` in front of its message (same class, code and exit code); other errors as they are. */
export function withPrefix(err: unknown, prefix: string): unknown {
  if (!isBerthError(err)) return err;
  const Ctor = err.constructor as new (code: ErrorCode, message: string, options?: { cause?: unknown }) => BerthError;
  return new Ctor(err.code, `${prefix}${err.message}`, { cause: err });
}

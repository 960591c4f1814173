import type { Format } from '../../oci/mediatype.js';
import type { Platform } from '../../oci/platform.js';
import type { Image } from '../../transport/image.js';
import type { RUN_ENGINES } from './choose.js';

/**
 * An engine that can run a Dockerfile's RUN steps (buildah, Docker). berth hands it the same
 * Dockerfile, args and contexts it would use itself, takes back what it produced, and
 * normalizes that (sorted tar entries, clamped mtimes, fixed times, berth's gzip), so the
 * result is reproducible whichever engine and version ran it. Each engine is a file of its
 * own (buildah.ts, docker.ts) and a row of choose.ts's RUN_ENGINES, which names them.
 */
export type RunEngineName = (typeof RUN_ENGINES)[number]['name'];
export type EngineChoice = 'auto' | 'native' | RunEngineName;

/** A named build context (`--build-context NAME=SOURCE`) as an engine receives it. */
export type EngineContext =
  | { kind: 'dir'; path: string }
  /** An image already read by berth; the engine loads it into its own store under `localName`. */
  | { kind: 'image'; image: Image; localName: string };

export interface EngineBuildRequest {
  /** The Dockerfile to build (a file path; berth may have rewritten it into `workDir`). */
  dockerfile: string;
  /** How messages name it (`images/app/Dockerfile`); default `dockerfile`. */
  dockerfileName?: string;
  contextDir: string;
  /**
   * The context's ignore rules as one file in `workDir` (the Dockerfile's own `.dockerignore`,
   * else the context's, and berth's work folder when it is in the context). Without it, the
   * engine reads the context's as it would.
   */
  ignoreFile?: string;
  target?: string;
  /** The one platform to build (TARGETPLATFORM). */
  platform: Platform;
  buildArgs: Record<string, string>;
  namedContexts: Record<string, EngineContext>;
  /**
   * Images the Dockerfile names by reference (`FROM alpine:3`, `COPY --from=alpine:3`), read
   * by berth for this build's platforms: the engine loads each under `ref` as the Dockerfile
   * writes it (after ARG expansion), so it uses berth's copy and never pulls.
   */
  images?: { ref: string; image: Image }[];
  /** A scratch folder of berth's, removed after the build: storage roots, the output archive. */
  workDir: string;
  /** SOURCE_DATE_EPOCH: every time in the normalized result. */
  epoch: number;
  /** Media types of the normalized result (`--format`). */
  format: Format;
  /** gzip level of the re-compressed layers (`--compression-level`). */
  compressionLevel: number;
  /** One line of the engine's output, already prefixed by nothing; the caller prefixes and prints. */
  log: (line: string) => void;
  signal?: AbortSignal;
}

export interface RunEngine {
  readonly name: RunEngineName;
  /** Whether this engine can run here (binary installed; for Docker, a daemon answering). */
  available(): Promise<boolean>;
  /**
   * Builds the request's target for its platform and returns the image as berth's Image,
   * normalized: its blobs live under `workDir` until the caller writes them out (layers equal
   * to a named image context's are that context's blobs, read from its own source).
   * Fails with an OperationalError (exit 1) naming the step when the engine fails.
   */
  build(req: EngineBuildRequest): Promise<Image>;
}

/**
 * The name an image context is loaded under in an engine's store:
 * `localhost/berth-context/NAME:<manifest digest, 16 hex digits>`, so two builds loading
 * different images for one context name do not take each other's.
 */
export function contextLocalName(name: string, image: Pick<Image, 'digest'>): string {
  const clean = name.toLowerCase().replace(/[^a-z0-9._-]+/g, '-').replace(/^[^a-z0-9]+/, '') || 'context';
  return `localhost/berth-context/${clean}:${image.digest.slice('sha256:'.length, 'sha256:'.length + 16)}`;
}

/**
 * The OCI distribution client. Deliberately small: a client per registry host, a pool of
 * them for one run, blob pushing with bounded concurrency and mounts, the structured error,
 * credentials, and the local blob cache.
 */
export { RegistryClient, MANIFEST_ACCEPT, type RegistryClientOptions, type RemoteManifest } from './client.js';
export { Registries, withRegistries, DEFAULT_JOBS, type RegistryOptions } from './pool.js';
export { pushBlobs, type BlobToPush, type PushBlobsOptions } from './push.js';
export { RegistryError, isTemporary, redactUrl, type RegistryErrorDetails } from './registry-error.js';
export { findCredential, type Credential } from './credentials.js';
export { BlobStore, defaultCacheDir } from './blob-cache.js';
export { BlobLocations } from './locations.js';
export { DEFAULT_RETRY, type RetryPolicy, type RetryInfo } from './retry.js';
export type { ProgressEvent, Reporter, BlobOutcome } from './transfer-events.js';

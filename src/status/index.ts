/** Workspace status for Bazel stamping: git facts, version rules, keys, labels. */
export { collectStatus, type CollectStatusOptions } from './collect.js';
export { computeStatus, formatStatus, statusEntries, buildDate, UNKNOWN_VERSION, type StatusInput, type WorkspaceStatus } from './status.js';
export { ciContext, sourceFromRemote, type CIContext, type CIEvent, type CISystem } from './ci.js';
export { STATUS_ENV_VARS, pickEnv, type StatusEnv, type StatusEnvVar } from './env.js';
export { readGitFacts, type GitFacts, type GitFactsResult, type GitHints } from './git-facts.js';
export { gitIn, type Git, type GitResult } from './git.js';
export { ociLabels, parseStatusFile, labelsFromStatus, LABEL_CREATED, LABEL_REVISION, LABEL_SOURCE, LABEL_VERSION, type LabelFacts } from './labels.js';
export { checkRegistry, DEFAULT_REGISTRY } from './default-registry.js';
export { semverFromDescribe, versionWithoutTag, versionFromGit, majorMinor, tagFromVersion, isScriptSemver } from './version-rules.js';
export { expandStatusKeys, readStatusFiles, statusKeysIn, type StatusValues } from './stamp.js';

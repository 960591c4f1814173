/**
 * Every environment variable the workspace status depends on. The status is computed from
 * `pickEnv(env)` only, so nothing outside this list can change it; and
 * hack/build/print-workspace-status.sh keys its cache on the same list (a test checks the
 * two agree), so a change to any of them is never answered from a stale cache.
 */
export const STATUS_ENV_VARS = [
  // overrides
  'DOCKER_REGISTRY',
  'DOCKER_PUSH_REGISTRY',
  'DOCKER_TAG',
  'APP_VERSION',
  'SOURCE_DATE_EPOCH',
  // Prow
  'JOB_TYPE',
  'PULL_NUMBER',
  'PULL_BASE_SHA',
  'PULL_PULL_SHA',
  'PULL_BASE_REF',
  'PULL_HEAD_REF',
  'REPO_OWNER',
  'REPO_NAME',
  // GitHub Actions
  'GITHUB_ACTIONS',
  'GITHUB_EVENT_NAME',
  'GITHUB_REF',
  'GITHUB_SHA',
  'GITHUB_HEAD_REF',
  'GITHUB_SERVER_URL',
  'GITHUB_REPOSITORY',
] as const;

export type StatusEnvVar = (typeof STATUS_ENV_VARS)[number];

/** The status inputs from the environment; an empty variable counts as unset. */
export type StatusEnv = Readonly<Partial<Record<StatusEnvVar, string>>>;

export function pickEnv(env: Readonly<Record<string, string | undefined>>): StatusEnv {
  const out: Partial<Record<StatusEnvVar, string>> = {};
  for (const name of STATUS_ENV_VARS) {
    const v = env[name];
    if (v !== undefined && v !== '') out[name] = v;
  }
  return out;
}

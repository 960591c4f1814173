/** What a registry's `WWW-Authenticate` asks for. */
export type Challenge =
  | { scheme: 'none' }
  | { scheme: 'basic'; realm?: string }
  | { scheme: 'bearer'; realm: string; service?: string; scope?: string; error?: string };

/**
 * Parses `WWW-Authenticate` (`Bearer realm="https://auth/token",service="reg",scope="…"`).
 * Quoted values may hold commas. With several challenges in one header, Bearer wins.
 */
export function parseChallenge(value: string | undefined): Challenge {
  if (!value) return { scheme: 'none' };
  const found: { scheme: string; params: Record<string, string> }[] = [];
  let i = 0;
  while (i < value.length) {
    // A parameter (`key=value`) belongs to the last scheme; a bare word starts a new scheme.
    const param = /\s*([A-Za-z0-9_-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))\s*,?/y;
    param.lastIndex = i;
    const p = found.length ? param.exec(value) : null;
    if (p) {
      found[found.length - 1]!.params[p[1]!.toLowerCase()] = p[2] !== undefined ? p[2].replace(/\\(.)/g, '$1') : p[3]!;
      i = param.lastIndex;
      continue;
    }
    const word = /\s*([A-Za-z][A-Za-z0-9_-]*)\s*,?/y;
    word.lastIndex = i;
    const w = word.exec(value);
    if (!w || word.lastIndex === i) break;
    found.push({ scheme: w[1]!.toLowerCase(), params: {} });
    i = word.lastIndex;
  }
  const bearer = found.find((c) => c.scheme === 'bearer');
  if (bearer && bearer.params.realm) {
    const { realm, service, scope, error } = bearer.params;
    return { scheme: 'bearer', realm, ...(service !== undefined ? { service } : {}), ...(scope !== undefined ? { scope } : {}), ...(error !== undefined ? { error } : {}) };
  }
  const basic = found.find((c) => c.scheme === 'basic');
  if (basic) return basic.params.realm !== undefined ? { scheme: 'basic', realm: basic.params.realm } : { scheme: 'basic' };
  return { scheme: 'none' };
}

/** The scopes an operation needs, narrowest first: pull, or pull and push, on a repository. */
export function repoScope(repository: string, actions: 'pull' | 'pull,push'): string {
  return `repository:${repository}:${actions}`;
}

/**
 * Whether a token granted for `have` also serves `need`: each needed
 * `repository:NAME:actions` is held for the same name with at least those actions.
 */
export function coversScopes(have: readonly string[], need: readonly string[]): boolean {
  const split = (s: string) => {
    const i = s.lastIndexOf(':');
    return { resource: s.slice(0, i), actions: s.slice(i + 1).split(',') };
  };
  const held = have.map(split);
  return need.every((n) => {
    const want = split(n);
    return held.some((h) => h.resource === want.resource && want.actions.every((a) => h.actions.includes(a)));
  });
}

/** A cache key for a set of scopes: sorted, so the same set is one entry. */
export function scopeKey(scopes: readonly string[]): string {
  return [...new Set(scopes)].sort().join(' ');
}

/** A bearer token and the moment (ms since the epoch) after which it is renewed. */
export interface CachedToken {
  token: string;
  renewAt: number;
}

/** When to renew a token: a little before it expires (the spec's default lifetime is 60 s). */
export function renewalTime(now: number, expiresInSeconds: number | undefined, issuedAt: string | undefined): number {
  const lifetime = Math.max(1, expiresInSeconds ?? 60) * 1000;
  const issued = issuedAt ? Date.parse(issuedAt) : NaN;
  // Trust issued_at only when it is clearly earlier than now (a token the server had cached)
  // and agrees with our clock within a minute; it often has whole seconds only.
  const start = Number.isNaN(issued) || now - issued < 1000 || now - issued > 60_000 ? now : issued;
  return start + lifetime - Math.min(10_000, lifetime / 10);
}

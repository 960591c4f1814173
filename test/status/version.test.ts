import { describe, expect, test } from '@jest/globals';
import { isScriptSemver, majorMinor, semverFromDescribe, tagFromVersion, versionWithoutTag } from '../../src/status/version-rules.js';

const HEX = '84c76d1142ea4d';

describe('semverFromDescribe: the sed lines of Kubernetes and cert-manager', () => {
  test.each([
    ['v1.2.3', false, 'v1.2.3'],
    ['v1.2.3', true, 'v1.2.3-dirty'],
    [`v1.2.3-4-g${HEX}`, false, `v1.2.3-4+${HEX}`],
    [`v1.2.3-4-g${HEX}`, true, `v1.2.3-4+${HEX}-dirty`],
    [`v1.3.0-alpha.0-6-g${HEX}`, false, `v1.3.0-alpha.0.6+${HEX}`],
    [`v1.3.0-rc.1-12-g${HEX}`, true, `v1.3.0-rc.1.12+${HEX}-dirty`],
    ['v1.3.0-alpha.0', false, 'v1.3.0-alpha.0'],
    // no rewrite when the dashes do not fit either shape, exactly as the scripts
    [`v1.3.0-alpha-1-2-g${HEX}`, false, `v1.3.0-alpha-1-2-g${HEX}`],
    // --abbrev=14 is a minimum: a longer hash is left alone by the sed patterns too
    [`v1.2.3-4-g${HEX}ab`, false, `v1.2.3-4-g${HEX}ab`],
    ['v2', false, 'v2'],
  ])('%s (dirty %s) -> %s', (describe, dirty, want) => {
    expect(semverFromDescribe(describe, dirty)).toBe(want);
  });
});

test('a repository without tags: v0.0.0-<count>+<14 hex>', () => {
  expect(versionWithoutTag(7, '0123456789abcdef0123456789abcdef01234567', false)).toBe('v0.0.0-7+0123456789abcd');
  expect(versionWithoutTag(1, '0123456789abcdef0123456789abcdef01234567', true)).toBe('v0.0.0-1+0123456789abcd-dirty');
});

describe('majorMinor: gitMajor and gitMinor as Kubernetes prints them', () => {
  test.each([
    ['v1.2.3', '1', '2'],
    ['v1.2.3-dirty', '1', '2+'],
    [`v1.2.3-4+${HEX}`, '1', '2+'],
    [`v1.30.0-alpha.0.6+${HEX}`, '1', '30+'],
    [`v1.2.3+${HEX}`, '1', '2'],
    ['v10.20', '10', '20'],
    ['v2', '', ''],
    ['release-1', '', ''],
  ])('%s -> %s %s', (v, major, minor) => {
    expect(majorMinor(v)).toEqual({ major, minor });
  });
});

test('a tag cannot hold +', () => {
  expect(tagFromVersion(`v1.2.3-4+${HEX}-dirty`)).toBe(`v1.2.3-4-${HEX}-dirty`);
  expect(tagFromVersion('v1.2.3')).toBe('v1.2.3');
});

test('isScriptSemver accepts what the scripts accept', () => {
  expect(isScriptSemver(`v1.3.0-alpha.0.6+${HEX}-dirty`)).toBe(true);
  expect(isScriptSemver('v1.2')).toBe(true);
  expect(isScriptSemver('v2')).toBe(false);
  expect(isScriptSemver('1.2.3')).toBe(false);
});

test('matches the shell of hack/lib/version.sh itself, run by bash and sed', async () => {
  const { execFile } = await import('node:child_process');
  // The lines of Kubernetes' kube::version::get_version_vars that rewrite git describe.
  const script = `
KUBE_GIT_VERSION=$1; KUBE_GIT_TREE_STATE=$2
DASHES_IN_VERSION=$(echo "\${KUBE_GIT_VERSION}" | sed "s/[^-]//g")
if [[ "\${DASHES_IN_VERSION}" == "---" ]] ; then
  KUBE_GIT_VERSION=$(echo "\${KUBE_GIT_VERSION}" | sed "s/-\\([0-9]\\{1,\\}\\)-g\\([0-9a-f]\\{14\\}\\)$/.\\1\\+\\2/")
elif [[ "\${DASHES_IN_VERSION}" == "--" ]] ; then
  KUBE_GIT_VERSION=$(echo "\${KUBE_GIT_VERSION}" | sed "s/-g\\([0-9a-f]\\{14\\}\\)$/+\\1/")
fi
if [[ "\${KUBE_GIT_TREE_STATE}" == "dirty" ]]; then KUBE_GIT_VERSION+="-dirty"; fi
if [[ "\${KUBE_GIT_VERSION}" =~ ^v([0-9]+)\\.([0-9]+)(\\.[0-9]+)?([-].*)?([+].*)?$ ]]; then
  KUBE_GIT_MAJOR=\${BASH_REMATCH[1]}; KUBE_GIT_MINOR=\${BASH_REMATCH[2]}
  if [[ -n "\${BASH_REMATCH[4]}" ]]; then KUBE_GIT_MINOR+="+"; fi
fi
echo "\${KUBE_GIT_VERSION} \${KUBE_GIT_MAJOR-} \${KUBE_GIT_MINOR-}"`;
  const inputs = ['v1.2.3', `v1.2.3-4-g${HEX}`, `v1.3.0-alpha.0-6-g${HEX}`, `v1.3.0-alpha-1-2-g${HEX}`, `v1.2.3-4-g${HEX}ab`, 'v2', `v0.1.0-beta-17-g${HEX}`];
  for (const input of inputs) {
    for (const dirty of [false, true]) {
      const out = await new Promise<string>((resolve, reject) =>
        execFile('bash', ['-c', script, 'bash', input, dirty ? 'dirty' : 'clean'], (err, stdout) => (err ? reject(err) : resolve(stdout.trim()))),
      );
      const v = semverFromDescribe(input, dirty);
      const { major, minor } = majorMinor(v);
      expect(`${v} ${major} ${minor}`.trim()).toBe(out);
    }
  }
});

import { expect, test } from '@jest/globals';
import { labelsFromStatus, ociLabels, parseStatusFile } from '../../src/status/labels.js';

test('parseStatusFile: KEY value lines, the value after the first space, empty values kept', () => {
  const m = parseStatusFile('STABLE_A one two\nSTABLE_EMPTY \nBARE\n\nbuildDate 2024-01-01T00:00:00Z\r\n');
  expect(Object.fromEntries(m)).toEqual({ STABLE_A: 'one two', STABLE_EMPTY: '', BARE: '', buildDate: '2024-01-01T00:00:00Z' });
});

test('parseStatusFile: a line that is not KEY value names its line', () => {
  expect(() => parseStatusFile('STABLE_A 1\n=oops\n', 'stable-status.txt')).toThrow(/^stable-status\.txt:2: "=oops" is not a KEY value line$/);
  // Asserted outside any catch: the test fails when nothing is thrown.
  let thrown: unknown;
  try {
    parseStatusFile('-x 1');
  } catch (err) {
    thrown = err;
  }
  expect(thrown).toMatchObject({ code: 'BAD_STATUS_FILE', exitCode: 2, message: expect.stringContaining('"-x 1"') });
});

test('labelsFromStatus: version, revision, created and source, as docker/metadata-action names them', () => {
  const status = parseStatusFile(
    [
      'STABLE_RELEASE_VERSION v1.2.3-4+0123456789abcd',
      'STABLE_BUILD_GIT_COMMIT 0123456789abcdef0123456789abcdef01234567',
      'STABLE_BUILD_SCM_TIMESTAMP 1709634030',
      'STABLE_BUILD_SCM_SOURCE https://github.com/acme/app',
      'STABLE_DOCKER_TAG v1.2.3-4-0123456789abcd',
    ].join('\n'),
  );
  expect(labelsFromStatus(status)).toEqual({
    'org.opencontainers.image.version': 'v1.2.3-4+0123456789abcd',
    'org.opencontainers.image.revision': '0123456789abcdef0123456789abcdef01234567',
    'org.opencontainers.image.created': '2024-03-05T10:20:30Z',
    'org.opencontainers.image.source': 'https://github.com/acme/app',
  });
});

test('labelsFromStatus leaves out what the status does not know', () => {
  expect(labelsFromStatus(parseStatusFile('STABLE_RELEASE_VERSION v0.0.0-unknown\nSTABLE_BUILD_GIT_COMMIT unknown\n'))).toEqual({
    'org.opencontainers.image.version': 'v0.0.0-unknown',
  });
  expect(labelsFromStatus(new Map())).toEqual({});
  expect(ociLabels({ created: 0 })).toEqual({ 'org.opencontainers.image.created': '1970-01-01T00:00:00Z' });
});

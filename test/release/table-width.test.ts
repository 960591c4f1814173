import { describe, expect, test } from '@jest/globals';
import { summaryTable, type ReleaseResult } from '../../src/release/index.js';

const digest = `sha256:${'ab'.repeat(32)}`;
const result = {
  components: [
    {
      name: 'cert-manager-controller',
      skipped: false,
      digest,
      platforms: ['linux/amd64', 'linux/arm64', 'linux/arm/v7', 'linux/ppc64le', 'linux/s390x'].map((platform) => ({ platform })),
      tags: ['v1.2.3', 'v1.2', 'v1', 'latest'],
      repositories: ['quay.io/jetstack/cert-manager-controller', 'ghcr.io/cert-manager/cert-manager-controller'],
    },
    { name: 'webhook', skipped: true, digest, platforms: [{ platform: 'linux/amd64' }], tags: [], repositories: ['quay.io/jetstack/webhook'] },
  ],
} as unknown as ReleaseResult;

describe('the release table fits the terminal', () => {
  test('wide enough: one line per component with full digests', () => {
    const lines = summaryTable(result, 400).trimEnd().split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[1]).toContain(digest);
  });

  test.each([200, 160, 120, 80, 60])('%i columns: no line reaches the width, nothing is lost', (width) => {
    const text = summaryTable(result, width);
    for (const l of text.trimEnd().split('\n')) expect(l.length).toBeLessThan(width);
    for (const want of ['cert-manager-controller', 'webhook (already published)', 'linux/s390x', 'latest', '(by digest)', 'ghcr.io/cert-manager/cert-manager-controller', 'sha256:abababababab']) {
      expect(text.replace(/,\n\s+/g, ', ')).toContain(want);
    }
  });

  test('not a terminal: the full table, whatever its width', () => {
    expect(summaryTable(result)).toBe(summaryTable(result, 400));
  });
});

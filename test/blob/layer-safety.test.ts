/**
 * Layer safety judged by what extractors do. Each crafted layer is checked by berth (as a
 * `--layer`) and extracted by GNU tar as root into a scratch folder inside a chroot sandbox
 * (helpers/tar-sandbox.ts), twice: plain `tar -xf` (GNU tar's own defences: leading `/` and
 * `..` stripped, symlinks with absolute or `..` targets delayed to the end), and
 * `tar -P --keep-directory-symlink -xf` (none of them: the least careful extractor, doing
 * what each member says in order, as a naive Go or Python extractor does). berth must refuse every layer that makes
 * either write outside the scratch folder, and accept the benign ones. Where berth refuses
 * a layer neither GNU tar run escapes with, the case says which extractor it guards against.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { addExistingLayer } from '../../src/blob/layer.js';
import { isBerthError } from '../../src/errors.js';
import { rawTar, TarSandbox, type RawEntry } from '../helpers/tar-sandbox.js';

let sandbox: TarSandbox;
let inputs: string;
let n = 0;

beforeAll(async () => {
  sandbox = await TarSandbox.create();
  inputs = join(sandbox.dir, 'inputs');
  await mkdir(inputs);
});

afterAll(async () => {
  await sandbox?.cleanup();
});

/** berth's verdict on `tar` as a --layer: undefined when accepted, else the error message. */
async function berthRefusal(tar: Buffer): Promise<string | undefined> {
  const src = join(inputs, `layer-${n++}.tar`);
  await writeFile(src, tar);
  try {
    await addExistingLayer(src, `${src}.gz`);
    return undefined;
  } catch (err) {
    if (!isBerthError(err) || err.exitCode !== 2) throw err;
    expect(err.message).not.toContain('\n');
    return err.message;
  }
}

const file = (name: string, content = 'x'): RawEntry => ({ name, type: '0', content });
const dir = (name: string): RawEntry => ({ name, type: '5' });
const symlink = (name: string, target: string): RawEntry => ({ name, type: '2', linkname: target });
const hardlink = (name: string, target: string): RawEntry => ({ name, type: '1', linkname: target });
const pax = (records: Record<string, string>): RawEntry => ({ name: 'PaxHeader', type: 'x', pax: records });
const globalPax = (records: Record<string, string>): RawEntry => ({ name: 'GlobalHead', type: 'g', pax: records });
const longName = (name: string): RawEntry => ({ name: '././@LongLink', type: 'L', content: name });
const longLink = (target: string): RawEntry => ({ name: '././@LongLink', type: 'K', content: target });

interface Case {
  what: string;
  entries: RawEntry[];
  /** Text the refusal names (the entry), or 'accept'. */
  verdict: string;
  /** For a refusal neither GNU tar run escapes with: the extractor it guards against. */
  guardsAgainst?: string;
}

// The scratch folder is /w/s in the chroot: `..` is /w (bait: w/a/, w/a/f, w/b), `../..` is /.
const cases: Case[] = [
  // The first example: on Linux a hard link to a symlink is that symlink.
  { what: 'a hard link to a symlink pointing outside, written through', entries: [symlink('s', '../a'), hardlink('h', 's'), file('h/f', 'pwned')], verdict: '"h"' },
  { what: 'a hard link moving an inside symlink up a level, written through', entries: [dir('d/'), symlink('d/up', '..'), hardlink('h', 'd/up'), file('h/f', 'pwned')], verdict: '"h/f"' },
  // The second example: GNU tar applies a global path to the members after it.
  { what: 'a PAX global header with path=../b', entries: [globalPax({ path: '../b' }), file('ok', 'pwned')], verdict: 'PAX global header sets "path"' },
  { what: 'a PAX local path climbing out', entries: [pax({ path: '../b' }), file('ok', 'pwned')], verdict: '"../b"' },
  { what: 'a PAX local linkpath pointing out, written through', entries: [pax({ linkpath: '../a' }), symlink('l', 'fine'), file('l/f', 'pwned')], verdict: '"l/f"' },
  { what: 'a GNU long name climbing out', entries: [longName('../b'), file('ok', 'pwned')], verdict: '"../b"' },
  { what: 'a GNU long link name pointing out, written through', entries: [longLink('../a'), symlink('l', 'fine'), file('l/f', 'pwned')], verdict: '"l/f"' },
  { what: 'an absolute member name', entries: [file('/etc/passwd', 'pwned')], verdict: '"/etc/passwd"' },
  { what: 'an absolute symlink target, written through', entries: [symlink('l', '/etc'), file('l/passwd', 'pwned')], verdict: '"l/passwd"' },
  { what: '.. in a symlink target, written through', entries: [symlink('l', '../a'), file('l/f', 'pwned')], verdict: '"l/f"' },
  { what: 'a chain of symlinks to directories', entries: [symlink('x', 'y'), symlink('y', 'z'), symlink('z', '../a'), file('x/f', 'pwned')], verdict: '"x/f"' },
  { what: 'a symlink inside a symlinked directory', entries: [dir('d/'), symlink('e', 'd'), symlink('d/up', '../..'), file('e/up/b', 'pwned')], verdict: '"e/up/b"' },
  { what: 'a directory replaced by a symlink, then written through', entries: [dir('d/'), symlink('d', '../a'), file('d/f', 'pwned')], verdict: '"d/f"' },
  { what: 'a symlink named again as a directory, then written through', entries: [symlink('l', '../a'), dir('l/'), file('l/f', 'pwned')], verdict: '"l/"' },
  { what: 'a hard link to a file outside', entries: [hardlink('h', '../b')], verdict: '"h"' },
  { what: 'a hard link through a symlink pointing outside', entries: [symlink('l', '..'), hardlink('h', 'l/b')], verdict: '"h"' },
  { what: '.. in the middle of a name climbing out', entries: [dir('a/'), file('a/../../b', 'pwned')], verdict: '"a/../../b"' },
  {
    what: 'a file written onto a symlink pointing outside',
    entries: [symlink('f', '../b'), file('f', 'pwned')],
    verdict: '"f"',
    guardsAgainst: 'extractors that open an existing path with O_TRUNC instead of replacing it (a plain Go os.Create), which write through the symlink',
  },
  {
    what: 'a hard link to a symlink pointing outside, not written through',
    entries: [symlink('s', '../b'), hardlink('h', 's')],
    verdict: '"h"',
    guardsAgainst: "Python's tarfile, whose os.link follows symlinks: h becomes a second name for /w/b",
  },
  // GNU tar cannot replace the non-empty directory, keeps d/up and writes d/up/b through it.
  { what: 'a directory holding a symlink replaced by a symlink', entries: [dir('d/'), symlink('d/up', '../..'), symlink('d', 'e'), file('d/up/b', 'pwned')], verdict: '"d"' },
  {
    what: 'a whiteout of the parent directory',
    entries: [dir('d/'), file('d/.wh...', '')],
    verdict: 'whiteout',
    guardsAgainst: 'containerd and moby, which remove filepath.Join(dir, "..") for a whiteout named .wh...',
  },
  // Found by the property below (seed 1669781603): GNU tar -P links `..` to itself and is done.
  {
    what: 'a hard link named .. to ../.',
    entries: [hardlink('..', '../.')],
    verdict: '".."',
    guardsAgainst: 'any extractor that does not clamp names to its root: a member named above the root is refused on principle, as moby does',
  },
  // Found by the property below (seed 1593706260, a clean-clone CI run): the name climbs above
  // the root as written, through a dangling symlink the model resolved inside; GNU tar -P escaped.
  {
    what: 'a directory named a/../../ under a dangling symlink a',
    entries: [symlink('a/.', 'c/a'), dir('a/../../')],
    verdict: '"a/../../"',
  },
  // Benign variants: berth accepts them and no extractor leaves the scratch folder.
  { what: 'a relative symlink staying inside, written through', entries: [dir('usr/'), dir('usr/lib/'), symlink('lib', 'usr/lib'), file('lib/x')], verdict: 'accept' },
  { what: 'a symlink with .. staying inside, written through', entries: [dir('a/'), dir('c/'), symlink('a/b', '../c'), file('a/b/f')], verdict: 'accept' },
  { what: 'an absolute symlink nothing goes through', entries: [dir('etc/'), symlink('etc/localtime', '/usr/share/zoneinfo/UTC')], verdict: 'accept' },
  { what: 'a symlink pointing outside nothing goes through', entries: [symlink('up', '../../..'), file('x')], verdict: 'accept' },
  { what: 'a hard link to a symlink staying inside', entries: [dir('d/'), symlink('d/in', '../d'), dir('e/'), hardlink('e/h', 'd/in'), file('e/h/x')], verdict: 'accept' },
  { what: 'a hard link to a file', entries: [file('a'), hardlink('b', 'a')], verdict: 'accept' },
  { what: './-prefixed names and .. staying inside', entries: [dir('./'), dir('./a/'), file('./a/../b')], verdict: 'accept' },
  { what: 'a symlink replaced by a file', entries: [symlink('f', 'g'), file('f')], verdict: 'accept' },
  { what: 'a PAX path and GNU long name inside', entries: [pax({ path: 'deep/name' }), file('x'), longName('long/name'), file('y')], verdict: 'accept' },
  { what: 'a PAX global header with a comment only', entries: [globalPax({ comment: 'git archive' }), file('x')], verdict: 'accept' },
];

describe('layer safety, judged by GNU tar extracting the same layer', () => {
  for (const c of cases) {
    it(`${c.verdict === 'accept' ? 'accepts' : 'refuses'} ${c.what}`, async () => {
      const tar = rawTar(c.entries);
      const refusal = await berthRefusal(tar);
      const gnu = await sandbox.extract(tar, 'gnu');
      const naive = await sandbox.extract(tar, 'naive');
      const seen = { refusal, gnu: gnu.outside, naive: naive.outside };
      if (c.verdict === 'accept') {
        expect(seen).toEqual({ refusal: undefined, gnu: [], naive: [] });
        return;
      }
      expect(refusal).toContain(c.verdict);
      if (c.guardsAgainst) {
        // Neither GNU tar run escapes: the refusal is for the extractor named in the case.
        expect(seen).toEqual({ refusal, gnu: [], naive: [] });
      } else {
        // The least careful extractor does write outside: berth refuses exactly what escapes.
        expect(naive.outside.length).toBeGreaterThan(0);
      }
    });
  }
});

/** A grammar of small layers: folders, files, symlinks and hard links over a few names, `..` and `/`. */
const part = fc.constantFrom('a', 'b', 'c', '..', '.');
const relPath = fc.array(part, { minLength: 1, maxLength: 3 }).map((p) => p.join('/'));
const target = fc.oneof({ weight: 4, arbitrary: relPath }, { weight: 1, arbitrary: relPath.map((p) => `/${p}`) });
const entry: fc.Arbitrary<RawEntry> = fc.oneof(
  relPath.map((p) => dir(`${p}/`)),
  relPath.map((p) => file(p, 'pwned')),
  fc.tuple(relPath, target).map(([p, t]) => symlink(p, t)),
  fc.tuple(relPath, relPath).map(([p, t]) => hardlink(p, t)),
);

/**
 * Refusals that need no escape in this sandbox to be right: the guarded cases of the table
 * above (a hard link to a symlink pointing outside, a directory written into then replaced,
 * going through an absolute symlink, a file or directory written onto a symlink pointing
 * outside), and the traversal checks every careful extractor applies itself (moby's
 * breakoutError, GNU tar's stripping): a member *named* above the root or by an absolute
 * path. GNU tar -P sometimes does nothing with one (a hard link `..` -> `../.` links a
 * folder to itself), but what it does is the extractor's choice, not the layer's.
 */
const GUARDED = [/links symlink/, /replaces a directory/, /which has an absolute target/, /would be written through/, /entry "[^"]*" climbs above the layer root/, /has an absolute path/];

describe('layer safety as a property', () => {
  /**
   * Over random layers: whatever berth accepts, neither GNU tar run writes outside the
   * scratch folder. Whatever berth refuses, the naive run writes outside, or failed somewhere
   * (it could not do what the layer says: the outcome then depends on what the root already
   * holds, which berth cannot know), or the refusal is one of GUARDED.
   */
  it('berth accepts a layer only if no GNU tar extraction escapes, and refuses only what some extractor could escape with', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(entry, { minLength: 1, maxLength: 6 }), async (entries) => {
        const tar = rawTar(entries);
        const refusal = await berthRefusal(tar);
        const gnu = await sandbox.extract(tar, 'gnu');
        const naive = await sandbox.extract(tar, 'naive');
        if (refusal === undefined) {
          expect({ gnu: gnu.outside, naive: naive.outside }).toEqual({ gnu: [], naive: [] });
          return;
        }
        const guarded = GUARDED.some((re) => re.test(refusal));
        const explained = naive.outside.length > 0 || naive.code !== 0 || guarded;
        const seen = { refusal, naive: naive.outside, naiveCode: naive.code };
        expect({ ...seen, explained }).toEqual({ ...seen, explained: true });
      }),
      { numRuns: 80 },
    );
  });
});

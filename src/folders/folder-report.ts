/**
 * What `berth images push` did, for the tools around it: kyma image-builder's build report
 * (`--report FILE`), GitHub Actions' step summary and outputs, and one line per image for
 * people. The renderings are pure; writeOutcomeFiles writes the files.
 */
import { resolve } from 'node:path';
import { UsageError } from '../errors.js';
import { checkOutputWritable, writeFileAtomic } from '../util/atomic.js';
import { withFsErrors } from '../util/fs-errors.js';
import { appendGithubFiles, checkGithubFiles, type ComponentResult } from '../release/index.js';

export interface ImageOutcome {
  /** The image's name, with `-<variant>` for a variant. */
  name: string;
  contentHash: string;
  /** `registry/path/name` for every registry it went to. */
  repositories: string[];
  /** The index (or image) its tags point at, and its size; absent when it failed before one existed. */
  digest?: string;
  size?: number;
  /** Every platform the index holds now. */
  platforms: string[];
  /** Platforms built (or taken from an ImageSource) and pushed in this run. */
  added: string[];
  tags: string[];
  /** Platforms built here in this run (the rest of `added` was reused: berth's cache, an ImageSource). */
  built?: string[];
  /** `planned`: a dry run found platforms or tags to push; `skipped`: not attempted (its base failed, or no platform to build). */
  status: 'published' | 'up-to-date' | 'planned' | 'failed' | 'skipped';
  /** Signed, by this run or before (a signature was there already). */
  signed: boolean;
  signedBy?: 'this run' | 'before';
  /** A dry run: every `repository:tag` a real run would write, and the repositories it would sign in. */
  wouldTag?: string[];
  wouldSign?: string[];
  /** Where people pull from, when it differs from where it was pushed (`images.registries.pull`). */
  pullRepositories?: string[];
  /** Who signed it and what is attached: `signed by key (cosign-key)`, `SLSA provenance -> reg/repo:sha256-….att`. */
  signatures?: string[];
  error?: string;
}

const uris = (o: ImageOutcome) => (o.pullRepositories ?? o.repositories).flatMap((r) => o.tags.map((t) => `${r}:${t}`));
/** The signers and attestations of a published component, one note each. */
export function signatureNotes(c: Pick<ComponentResult, 'signatures' | 'attestations'>): string[] {
  const by = [...new Set((c.signatures ?? []).flatMap((s) => s.signatures.filter((r) => r.status !== 'skipped').map((r) => `${r.signer} (${r.type})`)))];
  return [...(by.length ? [`signed by ${by.join(', ')}`] : []), ...(c.attestations ?? []).map((a) => `SLSA provenance signed by ${a.signers.join(', ')} -> ${a.attestationTag}`)];
}

/** kyma's build-report fields for one image. */
export function buildReport(o: ImageOutcome): Record<string, unknown> {
  const [first] = o.repositories;
  return {
    status: o.status === 'failed' ? 'Failed' : o.status === 'skipped' ? 'Skipped' : 'Succeeded',
    /** berth's own word: published, up-to-date, failed, skipped (planned: a dry run). */
    outcome: o.status,
    pushed: o.status === 'published',
    signed: o.signed,
    ...(o.signedBy ? { signed_by: o.signedBy } : {}),
    built: o.built ?? [],
    image_name: o.name,
    images_list: uris(o),
    digest: o.digest ?? '',
    tags: o.tags,
    repository_path: first ? first.slice(0, first.lastIndexOf('/')) : '',
    architectures: o.platforms,
    ...(o.error ? { error: o.error } : {}),
  };
}

/** The report file's text: kyma's object for one image, an array of them for several. */
export function reportFile(outcomes: readonly ImageOutcome[]): string {
  const reports = outcomes.map(buildReport);
  return `${JSON.stringify(reports.length === 1 ? reports[0] : reports, null, 2)}\n`;
}

/** One line per image, for stderr. */
export function outcomeLines(outcomes: readonly ImageOutcome[]): string {
  return outcomes
    .map((o) => {
      const pull = o.pullRepositories?.some((r, i) => r !== o.repositories[i]) ? ` (pull: ${o.pullRepositories.map((r) => `${r}:${o.tags[0] ?? ''}`).join(', ')})` : '';
      const where = `${o.repositories.map((r) => `${r}:${o.tags[0] ?? ''}`).join(', ')}${pull}`;
      const signed = o.signed ? (o.signedBy === 'before' ? ', signed before' : ', signed') : '';
      if (o.status === 'failed') return `berth: ${o.name}: failed: ${o.error ?? 'unknown error'}\n`;
      if (o.status === 'skipped') return `berth: ${o.name}: skipped: ${o.error ?? ''}\n`;
      if (o.status === 'planned') {
        const wr = o.wouldTag?.length ? `write ${o.wouldTag.join(', ')}` : `push to ${where}`;
        return `berth: ${o.name}: would ${o.added.length ? `build ${o.added.join(', ')} and ` : ''}${wr}${o.wouldSign?.length ? ` and sign in ${o.wouldSign.join(', ')}` : ''} (dry run)\n`;
      }
      if (o.status === 'up-to-date') return `berth: ${o.name}: ${where} has ${o.platforms.join(', ')}; nothing to push${signed}\n`;
      // Nothing built: only tags or per-arch repositories it lacked were written.
      if (o.added.length === 0) return `berth: ${o.name}: ${where} has ${o.platforms.join(', ')}; wrote the tags and repositories it lacked (${o.digest}${o.signatures?.length ? `; ${o.signatures.join('; ')}` : signed})\n`;
      return `berth: ${o.name}: pushed ${o.added.join(', ')} to ${where} (${o.digest}${o.signatures?.length ? `; ${o.signatures.join('; ')}` : signed})\n`;
    })
    .join('');
}

/** GitHub's step summary: image URIs and architectures. */
export function summaryMarkdown(outcomes: readonly ImageOutcome[]): string {
  const cell = (s: string) => s.replaceAll('|', '\\|');
  return [
    '### berth images',
    '',
    '| Image | URIs | Architectures | Status |',
    '|---|---|---|---|',
    ...outcomes.map((o) => `| ${cell(o.name)} | ${cell(uris(o).join('<br>'))} | ${cell(o.platforms.join(', '))} | ${o.status}${o.error ? `: ${cell(o.error)}` : ''}${o.signatures?.length ? `<br>${cell(o.signatures.join('<br>'))}` : ''} |`),
    '',
    '',
  ].join('\n');
}

/**
 * GITHUB_OUTPUT lines: `images` a JSON array of every `repository:tag`, `architectures` a JSON
 * array (one image) or object (several), `digest` the digest (one image) or a JSON object.
 */
export function githubOutputs(outcomes: readonly ImageOutcome[]): string {
  const images = outcomes.flatMap(uris);
  const one = outcomes.length === 1 ? outcomes[0] : undefined;
  const architectures = one ? JSON.stringify(one.platforms) : JSON.stringify(Object.fromEntries(outcomes.map((o) => [o.name, o.platforms])));
  const digest = one ? (one.digest ?? '') : JSON.stringify(Object.fromEntries(outcomes.map((o) => [o.name, o.digest ?? ''])));
  return `images=${JSON.stringify(images)}\narchitectures=${architectures}\ndigest=${digest}\n`;
}

/** Checks, before anything is pushed, that the report file and the GitHub Actions files can be written; errors name the path as given. */
export async function checkOutcomeFiles(opts: { report?: string; cwd: string; env: NodeJS.ProcessEnv }): Promise<void> {
  const report = opts.report;
  if (report !== undefined) {
    if (report === '') throw new UsageError('BAD_FLAG', '--report: is empty');
    await withFsErrors(report, () => checkOutputWritable(report === '-' ? report : resolve(opts.cwd, report), { stream: true }));
  }
  await checkGithubFiles(opts.env);
}

/** Writes the report file (`--report`, when given) and the GitHub Actions files, when it names them. */
export async function writeOutcomeFiles(outcomes: readonly ImageOutcome[], opts: { report?: string; cwd: string; env: NodeJS.ProcessEnv }): Promise<void> {
  const report = opts.report;
  if (report !== undefined) await withFsErrors(report, () => writeFileAtomic(resolve(opts.cwd, report), reportFile(outcomes)));
  await appendGithubFiles(opts.env, summaryMarkdown(outcomes), githubOutputs(outcomes));
}

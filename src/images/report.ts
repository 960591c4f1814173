/**
 * What `berth images push` did, for the tools around it: kyma image-builder's build report
 * (`--report FILE`), GitHub Actions' step summary and outputs, and one line per image for
 * people. The renderings are pure; writeOutcomeFiles writes the files.
 */
import { resolve } from 'node:path';
import { UsageError } from '../errors.js';
import { checkOutputWritable, writeFileAtomic } from '../blob/atomic.js';
import { withFsErrors } from '../blob/fs-errors.js';
import { appendGithubFiles, checkGithubFiles } from '../release/index.js';

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
  /** `planned`: a dry run found platforms or tags to push. */
  status: 'published' | 'up-to-date' | 'planned' | 'failed';
  signed: boolean;
  error?: string;
}

/** kyma's build-report fields for one image. */
export function buildReport(o: ImageOutcome): Record<string, unknown> {
  const [first] = o.repositories;
  return {
    status: o.status === 'failed' ? 'Failed' : 'Succeeded',
    pushed: o.status === 'published',
    signed: o.signed,
    image_name: o.name,
    images_list: o.repositories.flatMap((r) => o.tags.map((t) => `${r}:${t}`)),
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
      const where = o.repositories.map((r) => `${r}:${o.tags[0] ?? ''}`).join(', ');
      if (o.status === 'failed') return `berth: ${o.name}: failed: ${o.error ?? 'unknown error'}\n`;
      if (o.status === 'planned') return `berth: ${o.name}: would ${o.added.length ? `build ${o.added.join(', ')} and ` : ''}push to ${where} (dry run)\n`;
      if (o.status === 'up-to-date') return `berth: ${o.name}: ${where} has ${o.platforms.join(', ')}; nothing to push\n`;
      return `berth: ${o.name}: pushed ${o.added.join(', ')} to ${where} (${o.digest}${o.signed ? ', signed' : ''})\n`;
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
    ...outcomes.map((o) => `| ${cell(o.name)} | ${cell(o.repositories.flatMap((r) => o.tags.map((t) => `${r}:${t}`)).join('<br>'))} | ${cell(o.platforms.join(', '))} | ${o.status}${o.error ? `: ${cell(o.error)}` : ''} |`),
    '',
    '',
  ].join('\n');
}

/**
 * GITHUB_OUTPUT lines: `images` a JSON array of every `repository:tag`, `architectures` a JSON
 * array (one image) or object (several), `digest` the digest (one image) or a JSON object.
 */
export function githubOutputs(outcomes: readonly ImageOutcome[]): string {
  const images = outcomes.flatMap((o) => o.repositories.flatMap((r) => o.tags.map((t) => `${r}:${t}`)));
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

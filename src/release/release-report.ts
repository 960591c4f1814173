/**
 * What a release did, rendered: a table for people (stderr), JSON for programs (stdout), a
 * Markdown table for GitHub's step summary and `digest=` / `images=` lines for GITHUB_OUTPUT.
 */
import { appendFile } from 'node:fs/promises';
import { OperationalError } from '../errors.js';
import { checkOutputWritable } from '../util/atomic.js';
import type { ReleaseResult } from './execute.js';

interface Row {
  component: string;
  platforms: string;
  digest: string;
  tags: string;
  registries: string;
}

function rows(result: ReleaseResult): Row[] {
  return result.components.map((c) => ({
    component: c.status === 'failed' ? `${c.name} (FAILED)` : c.skipped ? `${c.name} (already published)` : c.name,
    platforms: c.platforms.map((p) => p.platform).join(', '),
    digest: c.digest,
    tags: c.tags.join(', ') || '(by digest)',
    registries: c.repositories.join(', '),
  }));
}

const HEADERS: Row = { component: 'COMPONENT', platforms: 'PLATFORMS', digest: 'DIGEST', tags: 'TAGS', registries: 'REPOSITORIES' };
const COLUMNS: (keyof Row)[] = ['component', 'platforms', 'digest', 'tags', 'registries'];

/**
 * The summary table, aligned, one line per component, fitted to `width` columns (a terminal's):
 * digests are shortened to 12 hex digits when that makes it fit (the full ones follow in the
 * lines below the table), else each component becomes a block of one field a line, its lists
 * wrapped at the width.
 */
export function summaryTable(result: ReleaseResult, width = Infinity): string {
  const table = (rs: Row[]) => {
    const all = [HEADERS, ...rs];
    const widths = COLUMNS.map((k) => Math.max(...all.map((r) => r[k].length)));
    return all.map((r) => COLUMNS.map((k, i) => (i === COLUMNS.length - 1 ? r[k] : r[k].padEnd(widths[i]!))).join('  '));
  };
  const fits = (lines: string[]) => lines.every((l) => l.length < width);
  const full = table(rows(result));
  if (fits(full)) return `${full.join('\n')}\n`;
  const short = rows(result).map((r) => ({ ...r, digest: r.digest.replace(/^(sha256:[0-9a-f]{12})[0-9a-f]+$/, '$1') }));
  const shortened = table(short);
  if (fits(shortened)) return `${shortened.join('\n')}\n`;
  const lines: string[] = [];
  for (const r of short) {
    lines.push(r.component);
    for (const k of COLUMNS.slice(1)) lines.push(...wrapList(`  ${HEADERS[k].toLowerCase().padEnd(12)} `, r[k], width));
  }
  return `${lines.join('\n')}\n`;
}

/** `prefix` then a comma-separated list, wrapped below the prefix before `width`. */
function wrapList(prefix: string, list: string, width: number): string[] {
  const out: string[] = [];
  let line = prefix;
  for (const [i, item] of list.split(', ').entries()) {
    const piece = i === 0 ? item : `, ${item}`;
    if (line.length + piece.length >= width && line.trim() !== prefix.trim()) {
      out.push(`${line}${i === 0 ? '' : ','}`);
      line = `${' '.repeat(prefix.length)}${item}`;
    } else line += piece;
  }
  out.push(line);
  return out;
}

/** One line per component saying what was done (and one per signature), for stderr. */
export function componentLines(result: ReleaseResult): string {
  const lines: string[] = [];
  for (const c of result.components) {
    if (c.status === 'failed') {
      const live = c.targets.flatMap((t) => t.references);
      lines.push(`berth: failed ${c.name} ${c.digest}${live.length ? ` (live before the failure: ${live.join(', ')})` : ' (nothing of it went live)'}: ${c.error?.message ?? 'unknown error'}`);
      continue;
    }
    const sum = (k: 'uploaded' | 'mounted' | 'existing') => c.targets.reduce((n, t) => n + t.blobs[k], 0);
    const how = c.skipped
      ? 'already published, skipped (--if-missing)'
      : c.repositories.every((r) => r.startsWith('oci:'))
        ? 'written into the layout; read back and checked'
        : c.targets.every((t) => t.upToDate)
          ? 'already there under every tag; nothing written'
          : `${sum('uploaded')} blobs uploaded, ${sum('mounted')} mounted, ${sum('existing')} existing; read back and checked`;
    lines.push(`berth: released ${c.name} ${c.digest} (${how})`);
    for (const s of c.signatures ?? []) lines.push(`berth: signed ${s.reference}: ${s.signatures.map((r) => `${r.signer} (${r.type}) ${r.status === 'skipped' ? `skipped: ${r.reason}` : `${r.status === 'present' ? '(there already) ' : ''}-> ${r.where}`}`).join('; ')}`);
    for (const a of c.attestations ?? []) lines.push(`berth: attested ${a.reference}: SLSA provenance signed by ${a.signers.join(', ')} -> ${a.attestationTag}, referrer ${a.referrer} (${a.referrers === 'api' ? 'referrers API' : `in ${a.referrers}`})`);
  }
  return lines.map((l) => `${l}\n`).join('');
}

/** The same as a GitHub-flavoured Markdown table. */
export function summaryMarkdown(result: ReleaseResult): string {
  const cell = (s: string) => s.replaceAll('|', '\\|');
  const lines = [
    '### berth release',
    '',
    '| Component | Platforms | Digest | Tags | Repositories |',
    '|---|---|---|---|---|',
    ...rows(result).map((r) => `| ${cell(r.component)} | ${cell(r.platforms)} | \`${r.digest}\` | ${cell(r.tags)} | ${cell(r.registries)} |`),
  ];
  const signed = result.components.filter((c) => c.signatures?.length || c.attestations?.length);
  if (signed.length) {
    lines.push('', '| Component | Image | Signed by | Attestations |', '|---|---|---|---|');
    for (const c of signed) {
      const refs = [...new Set([...(c.signatures ?? []).map((s) => s.reference), ...(c.attestations ?? []).map((a) => a.reference)])];
      for (const r of refs) {
        const by = (c.signatures ?? []).filter((s) => s.reference === r).flatMap((s) => s.signatures.filter((x) => x.status !== 'skipped').map((x) => `${x.signer} (${x.type})`));
        const att = (c.attestations ?? []).filter((a) => a.reference === r).map((a) => `SLSA provenance by ${a.signers.join(', ')}: \`${a.attestationTag}\``);
        lines.push(`| ${cell(c.name)} | \`${r}\` | ${cell(by.join(', ') || '-')} | ${cell(att.join('<br>') || '-')} |`);
      }
    }
  }
  const failed = result.components.filter((c) => c.status === 'failed');
  if (failed.length) lines.push('', `**Release incomplete**: ${failed.length} of ${result.components.length} components failed.`, '', ...failed.map((c) => `- ${cell(c.name)}: ${cell(c.error?.message ?? 'unknown error')}`));
  return lines.join('\n') + '\n\n';
}

/**
 * GITHUB_OUTPUT lines, about what went live only. `digest`: the index digest when one
 * component was released (empty when it failed), else a JSON object of published component →
 * digest. `images`: a JSON array of every published `repository@digest`. `failed`: a JSON
 * array of the components that failed.
 */
export function githubOutputs(result: ReleaseResult): string {
  const live = result.components.filter((c) => c.status !== 'failed');
  const digest = result.components.length === 1 ? (live[0]?.digest ?? '') : JSON.stringify(Object.fromEntries(live.map((c) => [c.name, c.digest])));
  const images = live.flatMap((c) => c.repositories.map((r) => `${r}@${c.digest}`));
  const failed = result.components.filter((c) => c.status === 'failed').map((c) => c.name);
  return `digest=${digest}\nimages=${JSON.stringify(images)}\nfailed=${JSON.stringify(failed)}\n`;
}

/** Appends the step summary and the outputs to the files GitHub Actions names, when it names them. */
export async function writeGithubFiles(result: ReleaseResult, env: NodeJS.ProcessEnv): Promise<void> {
  await appendGithubFiles(env, summaryMarkdown(result), githubOutputs(result));
}

/** Checks, before anything is pushed, that GITHUB_STEP_SUMMARY and GITHUB_OUTPUT (where named) can be appended to. */
export async function checkGithubFiles(env: NodeJS.ProcessEnv): Promise<void> {
  for (const name of ['GITHUB_STEP_SUMMARY', 'GITHUB_OUTPUT'] as const) {
    const file = env[name];
    if (!file) continue;
    await checkOutputWritable(file, { stream: true, append: true }).catch((err: NodeJS.ErrnoException) => {
      throw new OperationalError('IO', `${name} (${file}): cannot append to it (${err.code ?? err.message}); nothing was pushed`, { cause: err });
    });
  }
}

/** Appends to GITHUB_STEP_SUMMARY and GITHUB_OUTPUT, where GitHub Actions names them; one error line naming the file. */
export async function appendGithubFiles(env: NodeJS.ProcessEnv, summary: string, outputs: string): Promise<void> {
  const append = async (file: string | undefined, name: string, text: string) => {
    if (!file) return;
    await appendFile(file, text).catch((err: NodeJS.ErrnoException) => {
      throw new OperationalError('IO', `${name} (${file}): cannot append to it (${err.code ?? err.message})`, { cause: err });
    });
  };
  await append(env.GITHUB_STEP_SUMMARY, 'GITHUB_STEP_SUMMARY', summary);
  await append(env.GITHUB_OUTPUT, 'GITHUB_OUTPUT', outputs);
}

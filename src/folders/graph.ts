/**
 * The order images of one folder are built in: an image `FROM` another image of the folder
 * is built after it, for the same platform. Pure; a cycle is bad input and names its loop.
 */
import { UsageError } from '../errors.js';

/**
 * Every image the given ones need (themselves included), dependencies before dependants, and
 * otherwise in name order so the plan reads the same on every run.
 */
export function buildOrder(wanted: readonly string[], deps: ReadonlyMap<string, readonly string[]>): string[] {
  const order: string[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (name: string, path: string[]): void => {
    const s = state.get(name);
    if (s === 'done') return;
    if (s === 'visiting') {
      const loop = [...path.slice(path.indexOf(name)), name];
      throw new UsageError('BAD_IMAGE_FOLDER', `images ${loop.join(' -> ')} are built FROM each other in a cycle; break it`);
    }
    state.set(name, 'visiting');
    for (const dep of [...(deps.get(name) ?? [])].sort()) visit(dep, [...path, name]);
    state.set(name, 'done');
    order.push(name);
  };
  for (const name of [...wanted].sort()) visit(name, []);
  return order;
}

/** Images that depend on `name`, directly or through others (what a change to it invalidates). */
export function dependants(name: string, deps: ReadonlyMap<string, readonly string[]>): string[] {
  const out = new Set<string>();
  let grew = true;
  while (grew) {
    grew = false;
    for (const [image, ds] of deps) {
      if (out.has(image)) continue;
      if (ds.includes(name) || ds.some((d) => out.has(d))) {
        out.add(image);
        grew = true;
      }
    }
  }
  return [...out].sort();
}

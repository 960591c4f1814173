/**
 * "Did you mean ...?" for a mistyped word: the closest of `choices` by edit distance
 * (a swap of two neighbours counts one), when close enough to be a typo.
 */
export function closest(word: string, choices: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of choices) {
    const d = distance(word.toLowerCase(), c.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [c, d];
  }
  // One edit in a short word, two in a longer one: further than that is another word.
  return best !== undefined && bestDistance <= (word.length <= 4 ? 1 : 2) ? best : undefined;
}

/** The Damerau-Levenshtein distance (optimal string alignment). */
export function distance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i]![j] = Math.min(d[i]![j]!, d[i - 2]![j - 2]! + 1);
    }
  }
  return d[a.length]![b.length]!;
}

/** ` (did you mean X?)`, or nothing. */
export function didYouMean(word: string, choices: readonly string[], render: (c: string) => string = (c) => c): string {
  const c = closest(word, choices);
  return c === undefined ? '' : `; did you mean ${render(c)}?`;
}

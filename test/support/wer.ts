/**
 * Word error rate: the word-level edit distance between a reference and a
 * hypothesis, (S + D + I) / N, with N the number of reference words.
 *
 * Both texts are normalised first: lower-cased, punctuation removed (so
 * "Don't," and "dont" match), runs of white space collapsed. Nothing else:
 * "mister" and "mr" stay different words.
 */

export interface WerCounts {
  /** Reference words (N). */
  reference_words: number;
  hypothesis_words: number;
  hits: number;
  substitutions: number;
  deletions: number;
  insertions: number;
}

export interface WerResult extends WerCounts {
  /** (S + D + I) / N; 0 for two empty texts, Infinity for an empty reference and a non-empty hypothesis. */
  wer: number;
}

export function normaliseWords(text: string): string[] {
  return text
    .toLowerCase()
    .replace(/[\p{P}\p{S}]/gu, '')
    .split(/\s+/)
    .filter((word) => word !== '');
}

/**
 * Align with dynamic programming, then walk one optimal path back to count
 * S, D and I. Where several alignments cost the same, the walk prefers a
 * match or substitution, then a deletion, then an insertion; the total
 * S + D + I is the same whichever is taken.
 */
export function wordErrorRate(reference: string, hypothesis: string): WerResult {
  const ref = normaliseWords(reference);
  const hyp = normaliseWords(hypothesis);
  const cols = hyp.length + 1;
  const cost = new Uint32Array((ref.length + 1) * cols);
  const at = (i: number, j: number): number => cost[i * cols + j] ?? 0;
  for (let i = 0; i <= ref.length; i++) cost[i * cols] = i;
  for (let j = 0; j <= hyp.length; j++) cost[j] = j;
  for (let i = 1; i <= ref.length; i++) {
    for (let j = 1; j <= hyp.length; j++) {
      const diagonal = at(i - 1, j - 1) + (ref[i - 1] === hyp[j - 1] ? 0 : 1);
      cost[i * cols + j] = Math.min(diagonal, at(i - 1, j) + 1, at(i, j - 1) + 1);
    }
  }

  const counts: WerCounts = {
    reference_words: ref.length,
    hypothesis_words: hyp.length,
    hits: 0,
    substitutions: 0,
    deletions: 0,
    insertions: 0,
  };
  let i = ref.length;
  let j = hyp.length;
  while (i > 0 || j > 0) {
    const here = at(i, j);
    if (i > 0 && j > 0) {
      const same = ref[i - 1] === hyp[j - 1];
      if (here === at(i - 1, j - 1) + (same ? 0 : 1)) {
        if (same) counts.hits++;
        else counts.substitutions++;
        i--;
        j--;
        continue;
      }
    }
    if (i > 0 && here === at(i - 1, j) + 1) {
      counts.deletions++;
      i--;
    } else {
      counts.insertions++;
      j--;
    }
  }
  return { ...counts, wer: rate(counts) };
}

/** Pooled WER over several utterances: total errors over total reference words. */
export function pooledWordErrorRate(results: readonly WerCounts[]): WerResult {
  const total: WerCounts = {
    reference_words: 0,
    hypothesis_words: 0,
    hits: 0,
    substitutions: 0,
    deletions: 0,
    insertions: 0,
  };
  for (const r of results) {
    total.reference_words += r.reference_words;
    total.hypothesis_words += r.hypothesis_words;
    total.hits += r.hits;
    total.substitutions += r.substitutions;
    total.deletions += r.deletions;
    total.insertions += r.insertions;
  }
  return { ...total, wer: rate(total) };
}

function rate(c: WerCounts): number {
  const errors = c.substitutions + c.deletions + c.insertions;
  if (c.reference_words === 0) return errors === 0 ? 0 : Infinity;
  return errors / c.reference_words;
}

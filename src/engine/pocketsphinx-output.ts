/**
 * Turns what `pocketsphinx_continuous -time yes` prints on stdout into
 * utterances. For each utterance the program prints its hypothesis on one
 * line, then one line per lattice segment: `word start end posterior`, times
 * in seconds from the first sample of the stream (pocketsphinx adds the
 * utterance's stream offset itself), in one burst followed by fflush.
 *
 * An utterance is complete once it has as many real (non-filler) words as its
 * hypothesis line: both come from the same best path, so trailing fillers
 * (`<sil>`, `</s>`) can be dropped without waiting for the next utterance.
 */

export interface RecognizedWord {
  /** Lower-case dictionary word, alternate-pronunciation suffix removed. */
  text: string;
  start_ms: number;
  end_ms: number;
  /**
   * The word's posterior probability in the decoder's word lattice
   * (`ps_seg_prob`, printed by `-time yes`), clamped to 0..1.
   */
  confidence: number;
}

export interface Utterance {
  /** The words joined by single spaces. */
  text: string;
  /** Start of the first word and end of the last, in ms of the stream. */
  start_ms: number;
  end_ms: number;
  words: RecognizedWord[];
}

const SEGMENT_LINE = /^(\S+) (-?\d+(?:\.\d+)?) (-?\d+(?:\.\d+)?) (-?\d+(?:\.\d+)?(?:e[-+]?\d+)?)$/i;
/** `<s>`, `</s>`, `<sil>`, `[NOISE]`, `[SPEECH]`, `++GARBAGE++`: not words. */
const FILLER = /^(<.*>|\[.*\]|\+\+.*\+\+)$/;
/** `was(2)`: the dictionary's second pronunciation of `was`. */
const ALTERNATE_SUFFIX = /\(\d+\)$/;

export function isFiller(token: string): boolean {
  return FILLER.test(token);
}

interface OpenUtterance {
  expectedWords: number;
  words: RecognizedWord[];
  emitted: boolean;
}

export class UtteranceParser {
  private current: OpenUtterance | undefined;

  /**
   * @param emit called with each utterance that has at least one word.
   * @param onEmpty called when an utterance completes with no words (only
   *   noise or silence was heard): the decoder made progress all the same.
   * @param onStray called with a line that fits nowhere (logged by the owner).
   */
  constructor(
    private readonly emit: (utterance: Utterance) => void,
    private readonly onEmpty: () => void = () => {},
    private readonly onStray: (line: string) => void = () => {},
  ) {}

  /** Feed one stdout line (without its newline). */
  line(raw: string): void {
    const line = raw.trim();
    const segment = SEGMENT_LINE.exec(line);
    if (segment === null) {
      this.startUtterance(line);
      return;
    }
    const current = this.current;
    if (current === undefined) {
      this.onStray(raw);
      return;
    }
    const [, token = '', start = '0', end = '0', posterior = '0'] = segment;
    if (current.emitted || isFiller(token)) return;
    current.words.push({
      text: token.replace(ALTERNATE_SUFFIX, ''),
      start_ms: Math.round(Number(start) * 1000),
      end_ms: Math.round(Number(end) * 1000),
      confidence: Math.min(1, Math.max(0, Number(posterior))),
    });
    if (current.words.length >= current.expectedWords) this.complete(current);
  }

  /** stdout ended: deliver whatever the last utterance has. */
  end(): void {
    if (this.current !== undefined && !this.current.emitted) this.complete(this.current);
    this.current = undefined;
  }

  private startUtterance(hypothesis: string): void {
    if (this.current !== undefined && !this.current.emitted) {
      // Fewer segments than hypothesis words: deliver what was timed.
      this.complete(this.current);
    }
    const expectedWords = hypothesis.split(/\s+/).filter((w) => w !== '' && !isFiller(w)).length;
    this.current = { expectedWords, words: [], emitted: false };
    if (expectedWords === 0) this.complete(this.current);
  }

  private complete(utterance: OpenUtterance): void {
    utterance.emitted = true;
    const { words } = utterance;
    const first = words[0];
    const last = words[words.length - 1];
    if (first === undefined || last === undefined) {
      this.onEmpty();
      return;
    }
    this.emit({
      text: words.map((w) => w.text).join(' '),
      start_ms: first.start_ms,
      end_ms: last.end_ms,
      words,
    });
  }
}

/**
 * The script engine's file (YAML, or JSON which YAML reads too):
 *
 *   turns:
 *     - { text: "Hello, world.", tone_hz: 700, confidence: 0.95, speaker: A }
 *     - { text: "Second turn." ,  tone_hz: 900, speaker: B, revise: [{ turn: 0, speaker: B }] }
 *   end_of_turn_silence_ms: 700     # optional engine settings, defaults below
 *
 * `speaker` is the turn's diarization label, sent when the session asked for
 * speaker_labels (a turn without one is UNKNOWN then). `revise` makes the
 * final of this turn followed by a SpeakerRevision giving an earlier turn
 * (by its index in `turns`) a new speaker, if that turn was heard in the session.
 *
 * Either every turn has tone_hz (an utterance is matched to a turn by its
 * tone) or none has (the k-th utterance of a session is turn k).
 * Problems are reported all at once as `file:line:col: path: message`.
 */
import { readFile } from 'node:fs/promises';
import { LineCounter, isMap, isScalar, isSeq, parseDocument, type Document } from 'yaml';

export interface ScriptTurn {
  text: string;
  tone_hz?: number;
  confidence?: number;
  speaker?: string;
  revise?: ScriptRevision[];
}

export interface ScriptRevision {
  /** An earlier turn, by its index in `turns`. */
  turn: number;
  speaker: string;
}

const TURN_KEYS = ['text', 'tone_hz', 'confidence', 'speaker', 'revise'];
const TURN_SHAPE = '{ text, tone_hz?, confidence?, speaker?, revise? }';

export interface ScriptSettings {
  /** Silence that ends a turn. */
  end_of_turn_silence_ms: number;
  /** A 10 ms block louder than this (RMS, dB full scale) is speech. */
  energy_threshold_dbfs: number;
  /** Audio between partial updates. */
  partial_interval_ms: number;
  /** Expected speaking time per word: partials reveal words at this pace. */
  ms_per_word: number;
  /** Speech must last this long before it counts as an utterance (clicks do not). */
  min_speech_ms: number;
  /** Share of an utterance's energy its tone must hold to match a turn (1 = a pure tone). */
  tone_match_ratio: number;
}

export interface Script {
  turns: readonly ScriptTurn[];
  settings: ScriptSettings;
}

export const DEFAULT_SCRIPT_SETTINGS: Readonly<ScriptSettings> = {
  end_of_turn_silence_ms: 700,
  energy_threshold_dbfs: -35,
  partial_interval_ms: 200,
  ms_per_word: 350,
  min_speech_ms: 60,
  tone_match_ratio: 0.5,
};

/** Tones closer than this could not be told apart in a short utterance. */
export const MIN_TONE_SEPARATION_HZ = 25;
const TONE_RANGE = { min: 50, max: 8000 };

const SETTING_RANGES: Record<keyof ScriptSettings, { min: number; max: number; integer: boolean }> = {
  end_of_turn_silence_ms: { min: 50, max: 10000, integer: true },
  energy_threshold_dbfs: { min: -120, max: 0, integer: false },
  partial_interval_ms: { min: 20, max: 5000, integer: true },
  ms_per_word: { min: 20, max: 5000, integer: true },
  min_speech_ms: { min: 10, max: 2000, integer: true },
  tone_match_ratio: { min: 0, max: 1, integer: false },
};

export class ScriptError extends Error {
  constructor(
    readonly file: string,
    readonly problems: readonly string[],
  ) {
    super(`script ${file} is invalid:\n${problems.map((problem) => `  ${problem}`).join('\n')}`);
    this.name = 'ScriptError';
  }
}

/** A turn's words as an unformatted transcript has them: lowercased, punctuation stripped. */
export function scriptWords(text: string): string[] {
  return text
    .toLowerCase()
    .split(/\s+/)
    .map((token) => token.replace(/[^\p{L}\p{N}'-]+/gu, '').replace(/^['-]+|['-]+$/g, ''))
    .filter((word) => word.length > 0);
}

type Path = (string | number)[];

function pathText(path: Path): string {
  return path.reduce<string>(
    (text, part) => (typeof part === 'number' ? `${text}[${part}]` : text === '' ? part : `${text}.${part}`),
    '',
  );
}

class Problems {
  readonly list: string[] = [];
  constructor(
    private readonly file: string,
    private readonly doc: Document,
    private readonly lines: LineCounter,
  ) {}

  add(path: Path, message: string): void {
    this.list.push(`${this.file}:${this.position(path)}: ${pathText(path) || '(top level)'}: ${message}`);
  }

  /** For a key that should not be there: points at the key, not its value. */
  addAtKey(path: Path, message: string): void {
    const parent: unknown = path.length === 1 ? this.doc.contents : this.doc.getIn(path.slice(0, -1), true);
    const key = isMap(parent) ? parent.items.find((pair) => isScalar(pair.key) && pair.key.value === path.at(-1))?.key : undefined;
    const range = isScalar(key) ? key.range : undefined;
    if (range === undefined || range === null) {
      this.add(path, message);
      return;
    }
    const { line, col } = this.lines.linePos(range[0]);
    this.list.push(`${this.file}:${line}:${col}: ${pathText(path)}: ${message}`);
  }

  /** Line and column of the node at `path`, or of its nearest parent that exists. */
  private position(path: Path): string {
    for (let depth = path.length; depth >= 0; depth--) {
      const node: unknown = depth === 0 ? this.doc.contents : this.doc.getIn(path.slice(0, depth), true);
      const range = (node as { range?: [number, number, number] } | null | undefined)?.range;
      if (range !== undefined) {
        const { line, col } = this.lines.linePos(range[0]);
        return `${line}:${col}`;
      }
    }
    return '1:1';
  }
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

function readNumber(
  problems: Problems,
  path: Path,
  value: unknown,
  range: { min: number; max: number; integer: boolean },
): number | undefined {
  const ok = typeof value === 'number' && Number.isFinite(value) && value >= range.min && value <= range.max;
  if (!ok || (range.integer && !Number.isInteger(value))) {
    problems.add(path, `must be ${range.integer ? 'an integer' : 'a number'} from ${range.min} to ${range.max}, got ${JSON.stringify(value)}`);
    return undefined;
  }
  return value;
}

export function parseScript(text: string, file = '<script>'): Script {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false });
  if (doc.errors.length > 0) {
    throw new ScriptError(
      file,
      doc.errors.map((error) => {
        const at = error.linePos?.[0];
        return `${file}:${at?.line ?? 1}:${at?.col ?? 1}: ${error.message.split('\n')[0] ?? ''}`;
      }),
    );
  }
  const problems = new Problems(file, doc, lines);
  const root: unknown = doc.toJS();
  if (!isMap(doc.contents) || !isObject(root)) {
    problems.add([], 'must be a mapping with a `turns` list');
    throw new ScriptError(file, problems.list);
  }

  const settings: ScriptSettings = { ...DEFAULT_SCRIPT_SETTINGS };
  const settingNames = Object.keys(SETTING_RANGES) as (keyof ScriptSettings)[];
  for (const [key, value] of Object.entries(root)) {
    if (key === 'turns') continue;
    const name = settingNames.find((setting) => setting === key);
    if (name === undefined) {
      problems.addAtKey([key], `unknown key; valid keys: turns, ${settingNames.join(', ')}`);
      continue;
    }
    const read = readNumber(problems, [key], value, SETTING_RANGES[name]);
    if (read !== undefined) settings[name] = read;
  }

  const turns: ScriptTurn[] = [];
  if (!isSeq(doc.get('turns', true)) || !Array.isArray(root.turns) || root.turns.length === 0) {
    problems.add(['turns'], `must be a non-empty list of turns, each ${TURN_SHAPE}`);
  } else {
    root.turns.forEach((raw: unknown, i) => {
      const turn = readTurn(problems, ['turns', i], raw);
      if (turn !== undefined) turns.push(turn);
    });
    checkTones(problems, root.turns.length === turns.length ? turns : []);
  }
  if (problems.list.length > 0) throw new ScriptError(file, problems.list);
  return { turns, settings };
}

function readTurn(problems: Problems, path: Path, raw: unknown): ScriptTurn | undefined {
  if (!isObject(raw)) {
    problems.add(path, `must be a mapping ${TURN_SHAPE}`);
    return undefined;
  }
  let valid = true;
  for (const key of Object.keys(raw)) {
    if (!TURN_KEYS.includes(key)) {
      problems.addAtKey([...path, key], `unknown key; valid keys: ${TURN_KEYS.join(', ')}`);
      valid = false;
    }
  }
  const text = raw.text;
  if (typeof text !== 'string' || scriptWords(text).length === 0) {
    problems.add([...path, 'text'], 'must be a string with at least one word');
    valid = false;
  }
  const turn: ScriptTurn = { text: typeof text === 'string' ? text.trim() : '' };
  if (raw.tone_hz !== undefined) {
    const tone = readNumber(problems, [...path, 'tone_hz'], raw.tone_hz, { ...TONE_RANGE, integer: false });
    if (tone === undefined) valid = false;
    else turn.tone_hz = tone;
  }
  if (raw.confidence !== undefined) {
    const confidence = readNumber(problems, [...path, 'confidence'], raw.confidence, { min: 0, max: 1, integer: false });
    if (confidence === undefined) valid = false;
    else turn.confidence = confidence;
  }
  if (raw.speaker !== undefined) {
    const speaker = readSpeaker(problems, [...path, 'speaker'], raw.speaker);
    if (speaker === undefined) valid = false;
    else turn.speaker = speaker;
  }
  if (raw.revise !== undefined) {
    const revise = readRevisions(problems, [...path, 'revise'], raw.revise, path[1] as number);
    if (revise === undefined) valid = false;
    else turn.revise = revise;
  }
  return valid ? turn : undefined;
}

/** A diarization label as the service writes them: capital letters (A, B, ..., UNKNOWN). */
function readSpeaker(problems: Problems, path: Path, value: unknown): string | undefined {
  if (typeof value === 'string' && /^[A-Z]+$/.test(value)) return value;
  const label = 'a speaker label in capital letters (A, B, ..., UNKNOWN)';
  problems.add(path, value === undefined ? `is missing; give ${label}` : `must be ${label}, got ${JSON.stringify(value)}`);
  return undefined;
}

function readRevisions(problems: Problems, path: Path, raw: unknown, index: number): ScriptRevision[] | undefined {
  if (!Array.isArray(raw) || raw.length === 0) {
    problems.add(path, 'must be a non-empty list of { turn, speaker }');
    return undefined;
  }
  const revisions: ScriptRevision[] = [];
  raw.forEach((entry: unknown, i) => {
    const at = [...path, i];
    if (!isObject(entry)) {
      problems.add(at, 'must be a mapping { turn, speaker }');
      return;
    }
    const unknown = Object.keys(entry).filter((key) => key !== 'turn' && key !== 'speaker');
    for (const key of unknown) problems.addAtKey([...at, key], 'unknown key; valid keys: turn, speaker');
    const turn = index === 0 ? undefined : readNumber(problems, [...at, 'turn'], entry.turn, { min: 0, max: index - 1, integer: true });
    if (index === 0) problems.add([...at, 'turn'], 'the first turn has no earlier turn to revise');
    const speaker = readSpeaker(problems, [...at, 'speaker'], entry.speaker);
    if (turn !== undefined && speaker !== undefined && unknown.length === 0) revisions.push({ turn, speaker });
  });
  return revisions.length === raw.length ? revisions : undefined;
}

/** All turns toned or none; tones far enough apart to tell from each other. */
function checkTones(problems: Problems, turns: readonly ScriptTurn[]): void {
  const toned = turns.filter((turn) => turn.tone_hz !== undefined).length;
  if (toned > 0 && toned < turns.length) {
    const first = turns.findIndex((turn) => turn.tone_hz === undefined);
    problems.add(['turns', first], 'has no tone_hz while other turns have one: give every turn a tone_hz, or none');
    return;
  }
  turns.forEach((turn, i) => {
    for (let j = 0; j < i; j++) {
      const other = turns[j];
      if (turn.tone_hz === undefined || other?.tone_hz === undefined) continue;
      if (Math.abs(turn.tone_hz - other.tone_hz) < MIN_TONE_SEPARATION_HZ) {
        problems.add(
          ['turns', i, 'tone_hz'],
          `${turn.tone_hz} Hz is within ${MIN_TONE_SEPARATION_HZ} Hz of turns[${j}] (${other.tone_hz} Hz); the engine could not tell them apart`,
        );
      }
    }
  });
}

export async function loadScript(file: string): Promise<Script> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message;
    throw new ScriptError(file, [`${file}: cannot read the script: ${reason}`]);
  }
  return parseScript(text, file);
}

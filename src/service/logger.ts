/**
 * The service's logger: pino JSON on stderr (stdout belongs to the
 * transcript), human-readable when stderr is a terminal. Every line is
 * scrubbed of secret values (API keys, tokens, webhook secrets, secret plugin
 * options) wherever they appear, not only in fields known to hold them; the
 * list grows as a reload or a plugin brings new ones. A line about a pipeline
 * carries the id of its current transcriber session once there is one.
 */
import pino, { type Logger } from 'pino';
import pretty from 'pino-pretty';
import { formatDiagnostic, type Diagnostic } from '../config/diagnostic.js';

export const REDACTED = '[redacted]';
/** Shorter values would scrub ordinary words out of every line. */
const MIN_SECRET_LENGTH = 4;

/** Secret values to scrub from text, longest first (a key goes before any shorter secret inside it). */
export class SecretScrubber {
  private values: string[] = [];

  constructor(values: Iterable<string> = []) {
    this.add(values);
  }

  /** Adds values (and their JSON-escaped forms, as they appear inside a log line); old ones stay. */
  add(values: Iterable<string>): void {
    const all = new Set(this.values);
    for (const value of values) {
      if (value.length < MIN_SECRET_LENGTH) continue;
      all.add(value);
      all.add(JSON.stringify(value).slice(1, -1));
    }
    this.values = [...all].sort((a, b) => b.length - a.length);
  }

  scrub(text: string): string {
    let out = text;
    for (const secret of this.values) if (out.includes(secret)) out = out.split(secret).join(REDACTED);
    return out;
  }
}

export interface LoggerOptions {
  level: string;
  format: 'auto' | 'json' | 'pretty';
  secrets: SecretScrubber;
  /** The current transcriber session of a pipeline, added to its lines as session_id. */
  sessionOf?: (pipeline: string) => string | undefined;
  destination?: NodeJS.WritableStream;
}

export function createLogger(options: LoggerOptions): Logger {
  const usePretty = options.format === 'pretty' || (options.format === 'auto' && process.stderr.isTTY === true && !options.destination);
  const destination = usePretty
    ? pretty({ destination: 2, sync: true, translateTime: 'HH:MM:ss.l', ignore: 'pid,hostname' })
    : (options.destination ?? pino.destination({ dest: 2, sync: true }));
  const sessionOf = options.sessionOf;
  return pino(
    {
      level: options.level,
      base: undefined,
      hooks: { streamWrite: (line) => options.secrets.scrub(line) },
      redact: { paths: ['api_key', '*.api_key', 'token', '*.token', 'secret', '*.secret', 'headers.authorization', 'headers.Authorization'], censor: REDACTED },
      ...(sessionOf ? { mixin: (fields: object, _level: number, logger: Logger) => sessionField(fields, logger, sessionOf) } : {}),
    },
    destination,
  );
}

function sessionField(fields: object, logger: Logger, sessionOf: (pipeline: string) => string | undefined): object {
  if ('session_id' in fields) return {};
  const pipeline: unknown = 'pipeline' in fields ? fields.pipeline : logger.bindings().pipeline;
  const session = typeof pipeline === 'string' ? sessionOf(pipeline) : undefined;
  return session === undefined ? {} : { session_id: session };
}

/** Re-emits a JSON log line from a worker through the main logger (keeping its level and fields). */
export function relayLogLine(logger: Logger, line: string): void {
  let record: Record<string, unknown>;
  try {
    record = JSON.parse(line) as Record<string, unknown>;
  } catch {
    logger.info(line.trim());
    return;
  }
  const { level, msg, time: _time, ...fields } = record;
  const name = typeof level === 'number' ? pino.levels.labels[level] : 'info';
  const method = (name && name in logger ? name : 'info') as 'info';
  logger[method](fields, typeof msg === 'string' ? msg : '');
}

/** A config problem as a log line: the `file:line:col: path: message` text, and each part as a field. */
export function logDiagnostic(logger: Logger, diagnostic: Diagnostic): void {
  const fields = { file: diagnostic.file, line: diagnostic.line, col: diagnostic.col, path: diagnostic.path };
  if (diagnostic.severity === 'error') logger.error(fields, formatDiagnostic(diagnostic));
  else logger.warn(fields, formatDiagnostic(diagnostic));
}

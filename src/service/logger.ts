/**
 * The service's logger: pino JSON on stderr (stdout belongs to the
 * transcript), human-readable when stderr is a terminal. Every line is
 * scrubbed of secret values (API keys, tokens, webhook secrets) wherever they
 * appear, not only in fields known to hold them.
 */
import pino, { type Logger } from 'pino';
import pretty from 'pino-pretty';

export interface LoggerOptions {
  level: string;
  format: 'auto' | 'json' | 'pretty';
  secrets: string[];
  destination?: NodeJS.WritableStream;
}

export function createLogger(options: LoggerOptions): Logger {
  const secrets = options.secrets.filter((s) => s.length >= 4);
  const scrub = (line: string): string => {
    let out = line;
    for (const secret of secrets) out = out.split(secret).join('[redacted]');
    return out;
  };
  const usePretty = options.format === 'pretty' || (options.format === 'auto' && process.stderr.isTTY === true && !options.destination);
  const destination = usePretty
    ? pretty({ destination: 2, sync: true, translateTime: 'HH:MM:ss.l', ignore: 'pid,hostname' })
    : (options.destination ?? pino.destination({ dest: 2, sync: true }));
  return pino(
    {
      level: options.level,
      base: undefined,
      hooks: { streamWrite: scrub },
      redact: { paths: ['api_key', '*.api_key', 'token', '*.token', 'secret', '*.secret', 'headers.authorization', 'headers.Authorization'], censor: '[redacted]' },
    },
    destination,
  );
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

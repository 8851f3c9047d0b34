/** A pino logger whose records land in an array, for tests that check what was logged. */
import { pino, type Logger } from 'pino';

export interface CapturedLogger {
  logger: Logger;
  records: Record<string, unknown>[];
}

export function captureLogs(level: pino.Level = 'debug'): CapturedLogger {
  const records: Record<string, unknown>[] = [];
  const logger = pino({ level }, { write: (line: string) => void records.push(JSON.parse(line) as Record<string, unknown>) });
  return { logger, records };
}

/** How the audio host's events read in the service's log. */
import type { Logger } from 'pino';
import type { HostEvent } from './audio-host-protocol.js';

export function logCaptureEvent(logger: Logger, event: HostEvent): void {
  if (event.type !== 'event') return;
  const log = logger.child({ pipeline: event.pipeline });
  switch (event.kind) {
    case 'opened': {
      const { info } = event;
      const fields = { capture: info.description, conversion: info.conversion, ...(info.refused ? { refused: info.refused } : {}) };
      log.info(fields, `${event.restarted ? 'capture reopened' : 'capturing'}: ${info.description}${info.conversion === 'none' ? '' : `; ${info.conversion}`}`);
      return;
    }
    case 'failed':
      log.warn(
        { err: event.error, retry_in_ms: event.retryInMs, attempt: event.attempt },
        `capture failed: ${event.error.message}; reopening in ${event.retryInMs} ms`,
      );
      return;
    case 'overflow':
      log.warn({ detail: event.detail }, `capture device overflow (${event.detail}); the lost audio is measured and recorded as a gap`);
      return;
    case 'default-source':
      log.info({ from: event.from, to: event.to }, `capture follows the default source: ${event.from ?? '(none)'} -> ${event.to}`);
      return;
    case 'device-kept':
      log.info({ device: event.device, moved_to: event.movedTo }, `capture keeps its device ${event.device}: the server moved it to ${event.movedTo} as the default source changed; moved back`);
      return;
    case 'gap': {
      const { gap } = event;
      const frames = gap.fromSeq === gap.toSeq ? `frame ${gap.fromSeq}` : `frames ${gap.fromSeq}-${gap.toSeq}`;
      log.warn(
        { cause: gap.cause, from_seq: gap.fromSeq, to_seq: gap.toSeq, missing_frames: gap.missingFrames, lost_ms: Math.round(gap.lostMs) },
        `audio lost: ${Math.round(gap.lostMs)} ms at ${frames} (${gap.cause})`,
      );
      return;
    }
    case 'ended':
      if (event.error) log.error({ err: event.error }, `capture source failed: ${event.error.message}`);
      else log.info('capture source ended');
      return;
  }
}

/**
 * `earshot pause <pipeline>` and `earshot resume <pipeline>`: the control
 * requests of a running service (control.ts), for a shell or a hotkey that
 * would rather not write curl. The service must listen (`service.http`).
 */
import type { Command } from 'commander';

export const DEFAULT_CONTROL_URL = 'http://127.0.0.1:9464';
/** Bound on the whole request: the service answers at once (the pause itself completes after). */
const REQUEST_TIMEOUT_MS = 5000;

export interface ControlOutcome {
  ok: boolean;
  message: string;
}

/** Asks the service at baseUrl to pause or resume a pipeline; never throws. */
export async function requestPause(baseUrl: string, pipeline: string, paused: boolean): Promise<ControlOutcome> {
  const action = paused ? 'pause' : 'resume';
  let url: URL;
  try {
    url = new URL(`pipelines/${encodeURIComponent(pipeline)}/${action}`, baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('not http');
  } catch {
    return { ok: false, message: `--url ${JSON.stringify(baseUrl)} is not an http:// or https:// URL (the service's address, e.g. ${DEFAULT_CONTROL_URL})` };
  }
  let response: Response;
  try {
    response = await fetch(url, { method: 'POST', signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).message;
    return { ok: false, message: `cannot reach ${url.origin} (${cause}): is earshot run going with service.http set? Give its address with --url` };
  }
  const text = await response.text();
  let error: string | undefined;
  try {
    error = (JSON.parse(text) as { error?: string }).error;
  } catch {
    error = undefined;
  }
  if (response.status === 202) return { ok: true, message: `${pipeline}: ${paused ? 'pausing (the open turn is finalised, then nothing is transcribed)' : 'resuming'}` };
  return { ok: false, message: `${url.origin} answered ${response.status}: ${error ?? (text.trim() || 'no reason given')}` };
}

export function registerControlCommands(program: Command): void {
  for (const paused of [true, false]) {
    program
      .command(paused ? 'pause' : 'resume')
      .description(paused ? 'stop transcribing a running pipeline (its session ends; capture goes on) until resumed' : 'transcribe again after a pause, in a new session')
      .argument('<pipeline>', 'the pipeline name in the running file')
      .option('--url <url>', 'where the service listens (service.http)', DEFAULT_CONTROL_URL)
      .action(async (pipeline: string, options: { url: string }) => {
        const outcome = await requestPause(options.url, pipeline, paused);
        if (outcome.ok) console.log(outcome.message);
        else console.error(`earshot: ${outcome.message}`);
        process.exitCode = outcome.ok ? 0 : 1;
      });
  }
}

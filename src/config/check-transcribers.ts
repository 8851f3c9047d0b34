/** Transcribers: credentials, endpoints, backoff and timeouts that fit together. */
import type { CheckContext } from './check-context.js';
import { checkParams } from './check-params.js';
import { formatPath, type Path } from './path.js';
import type { AssemblyAITranscriberConfig, ReconnectConfig } from './schema.js';
import { isLoopback, parseUrl } from './urls.js';

export function checkTranscribers(ctx: CheckContext): void {
  for (const [name, pipeline] of Object.entries(ctx.config.pipelines)) {
    const path: Path = ['pipelines', name, 'transcriber'];
    if (!ctx.intact(path) || !ctx.usable([...path, 'type'])) continue;
    const transcriber = pipeline.transcriber;
    if (transcriber.type === 'assemblyai') {
      checkAssemblyAI(ctx, transcriber, path);
      checkBackoff(ctx, transcriber.reconnect, [...path, 'reconnect']);
    } else {
      checkBackoff(ctx, transcriber.restart, [...path, 'restart']);
    }
    // params may be anything in a file that failed the schema (the check runs on what is usable).
    const params: unknown = transcriber.type === 'assemblyai' ? transcriber.params : undefined;
    const diarized = typeof params === 'object' && params !== null && (params as Record<string, unknown>).speaker_labels === true;
    checkSpeakerNames(ctx, pipeline.speakers, diarized, ['pipelines', name, 'speakers']);
  }
}

/** Names for speaker labels only matter when the transcriber labels speakers. */
function checkSpeakerNames(ctx: CheckContext, speakers: Readonly<Record<string, string>> | undefined, diarized: boolean, path: Path): void {
  if (speakers === undefined || diarized || !ctx.usable(path)) return;
  ctx.report('warning', path, 'key', 'speakers has no effect without speaker labels: set transcriber type assemblyai with params speaker_labels: true');
}

function checkAssemblyAI(ctx: CheckContext, transcriber: AssemblyAITranscriberConfig, path: Path): void {
  const urlPath = [...path, 'url'];
  const url = ctx.usable(urlPath) ? parseUrl(transcriber.url) : undefined;
  const hasKey = transcriber.api_key !== undefined;
  const hasToken = transcriber.token !== undefined;
  const tokenInUrl = url?.searchParams.has('token') === true;
  if (!hasKey && !hasToken && !tokenInUrl) {
    ctx.report(
      'error',
      path,
      'key',
      'assemblyai needs api_key or token; add `api_key: ${ASSEMBLYAI_API_KEY}` and set ASSEMBLYAI_API_KEY in the environment',
    );
  } else if (hasKey && hasToken) {
    ctx.report('warning', [...path, 'token'], 'key', 'both api_key and token are given; give one (a token is for clients that must not hold the key)');
  }

  if (url !== undefined) {
    const local = isLoopback(url);
    if (url.protocol === 'ws:' && !local && (hasKey || hasToken)) {
      ctx.report('warning', urlPath, 'value', `ws:// sends the ${hasKey ? 'API key' : 'token'} and the audio unencrypted to ${url.hostname}; use wss://`);
    }
    if (!url.pathname.endsWith('/v3/ws')) {
      ctx.report('warning', urlPath, 'value', `earshot speaks the v3 streaming API, served at /v3/ws; this URL's path is ${url.pathname}`);
    }
    for (const field of ['api_key', 'token'] as const) {
      const fieldPath = [...path, field];
      if (transcriber[field] !== undefined && !local && ctx.usable(fieldPath) && ctx.fromEnv(fieldPath).length === 0) {
        const variable = field === 'api_key' ? 'ASSEMBLYAI_API_KEY' : 'ASSEMBLYAI_TOKEN';
        ctx.report('warning', fieldPath, 'key', `${field} is written in the file; write \`${field}: \${${variable}}\` and keep it in the environment`);
      }
    }
  }

  const paramsPath = [...path, 'params'];
  if (ctx.intact(paramsPath)) checkParams(ctx, transcriber.params, paramsPath);

  const termination = [...path, 'termination_timeout_ms'];
  const shutdown = ['service', 'shutdown_timeout_ms'];
  if (!ctx.usable(termination) || !ctx.usable(shutdown)) return;
  const wait = transcriber.termination_timeout_ms;
  const limit = ctx.config.service.shutdown_timeout_ms;
  if (wait >= limit) {
    // Point at the value the user wrote; the other one is a default.
    if (ctx.given(termination) || !ctx.given(shutdown)) {
      ctx.report('warning', termination, 'value', `the service stops after service.shutdown_timeout_ms (${limit} ms), before this ${wait} ms wait for the last turns ends`);
    } else {
      ctx.report('warning', shutdown, 'value', `${limit} ms is not enough for ${formatPath(termination)} (${wait} ms, the wait for the last turns)`);
    }
  }
}

function checkBackoff(ctx: CheckContext, backoff: ReconnectConfig, path: Path): void {
  const initial = [...path, 'initial_delay_ms'];
  const max = [...path, 'max_delay_ms'];
  if (ctx.usable(initial) && ctx.usable(max) && backoff.initial_delay_ms > backoff.max_delay_ms) {
    ctx.report('error', initial, 'value', `initial_delay_ms (${backoff.initial_delay_ms}) is more than max_delay_ms (${backoff.max_delay_ms})`);
  }
}

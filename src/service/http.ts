/**
 * The service's HTTP endpoint: /healthz (per-pipeline state; 200 unless a
 * pipeline has failed, 503 then), /metrics (Prometheus text), control
 * requests for a pipeline's transcriber (control.ts), and, unless
 * service.http.captions is false, the live transcript: /events (SSE,
 * event-stream.ts) and /captions (a page, captions-page.ts). Loopback by
 * default: it exposes no secret (every body goes through the secret
 * scrubber too), but it is not meant for the internet.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { checkCaptionsParams, checkEventsParams } from './caption-params.js';
import { captionsPage } from './captions-page.js';
import { handleControl, isControlPath } from './control.js';
import { EventStreams } from './event-stream.js';
import type { ServiceMetrics } from './metrics.js';
import type { PipelineRunner } from './pipeline-runner.js';
import type { TranscriptHub } from './transcript-hub.js';

export interface PipelineHealth {
  state: string;
  label?: string;
  /** When this run of the pipeline started (a reload that restarts it sets a new time). */
  started_at: string;
  transcriber?: string;
  session_id?: string;
  capture?: string;
  error?: string;
}

export interface HealthReport {
  /** ok: every pipeline running and streaming (or paused); degraded: some starting, reconnecting, stopping or ended; failing: one failed. */
  status: 'ok' | 'degraded' | 'failing';
  pipelines: Record<string, PipelineHealth>;
}

export function healthReport(runners: readonly PipelineRunner[]): HealthReport {
  const pipelines: HealthReport['pipelines'] = {};
  let failing = false;
  let degraded = false;
  for (const runner of runners) {
    const transcriber = runner.transcriberStatus?.state;
    pipelines[runner.name] = {
      state: runner.displayState,
      ...(runner.label !== undefined ? { label: runner.label } : {}),
      started_at: runner.startedAt.toISOString(),
      ...(transcriber ? { transcriber } : {}),
      ...(runner.transcriberStatus?.sessionId ? { session_id: runner.transcriberStatus.sessionId } : {}),
      ...(runner.captureStats ? { capture: runner.captureStats.state } : {}),
      ...(runner.failure ? { error: runner.failure } : {}),
    };
    if (runner.state === 'failed') failing = true;
    // Paused on purpose is healthy: no session, by request (`earshot_pipeline_paused` tells alerts apart).
    else if (runner.state !== 'running' || (!runner.paused && transcriber !== 'streaming') || runner.captureStats?.state !== 'running') degraded = true;
  }
  return { status: failing ? 'failing' : degraded ? 'degraded' : 'ok', pipelines };
}

export interface HttpSources {
  runners: () => readonly PipelineRunner[];
  metrics: ServiceMetrics;
  /** Applied to every body: no secret leaves by HTTP either. */
  scrub: (text: string) => string;
  /** Serves /events and /captions from this hub; absent: those routes are off. */
  transcripts?: TranscriptHub;
  logger?: Logger;
}

/** Each server's open /events streams, ended first when it closes (they would hold it open). */
const streamsOf = new WeakMap<Server, EventStreams>();

/** Listens on host:port; resolves once listening, or rejects naming the address and the reason. */
export async function startHttpServer(host: string, port: number, sources: HttpSources): Promise<{ server: Server; url: string }> {
  const hub = sources.transcripts;
  const streams = hub
    ? new EventStreams({ hub, scrub: sources.scrub, metrics: sources.metrics.eventStreams, ...(sources.logger ? { logger: sources.logger } : {}) })
    : undefined;
  const server = createServer((request, response) => {
    const target = request.url ?? '/';
    const queryAt = target.indexOf('?');
    const path = queryAt < 0 ? target : target.slice(0, queryAt);
    if (isControlPath(path)) {
      void handleControl(request, response, path, sources.runners());
      return;
    }
    if (request.method !== 'GET') {
      response.writeHead(405, { allow: 'GET' }).end();
      return;
    }
    if (path === '/healthz') {
      const report = healthReport(sources.runners());
      response.writeHead(report.status === 'failing' ? 503 : 200, { 'content-type': 'application/json' });
      response.end(sources.scrub(JSON.stringify(report, null, 2)) + '\n');
      return;
    }
    if (path === '/metrics') {
      sources.metrics.registry.metrics().then(
        (text) => {
          response.writeHead(200, { 'content-type': sources.metrics.registry.contentType });
          response.end(sources.scrub(text));
        },
        (error: Error) => {
          response.writeHead(500, { 'content-type': 'text/plain' }).end(sources.scrub(`metrics failed: ${error.message}\n`));
        },
      );
      return;
    }
    if (streams && (path === '/events' || path === '/captions')) {
      serveTranscript(request, response, path, new URLSearchParams(queryAt < 0 ? '' : target.slice(queryAt + 1)), streams);
      return;
    }
    response.writeHead(404, { 'content-type': 'text/plain' }).end(`not found: try /healthz or /metrics${streams ? ', /events or /captions' : ''}\n`);
  });
  if (streams) streamsOf.set(server, streams);
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(new Error(`cannot listen on http://${host}:${port} (service.http): ${error.code ?? error.message}`)),
    );
    server.listen(port, host, resolve);
  });
  const address = server.address() as AddressInfo;
  return { server, url: `http://${formatHost(host)}:${address.port}` };
}

function serveTranscript(request: IncomingMessage, response: ServerResponse, path: string, query: URLSearchParams, streams: EventStreams): void {
  const badRequest = (message: string): void => {
    response.writeHead(400, { 'content-type': 'text/plain; charset=utf-8' }).end(`${path}: ${message}\n`);
  };
  if (path === '/events') {
    const checked = checkEventsParams(query);
    if (checked.ok) streams.handle(request, response, checked.params);
    else badRequest(checked.message);
    return;
  }
  const checked = checkCaptionsParams(query);
  if (!checked.ok) {
    badRequest(checked.message);
    return;
  }
  const page = captionsPage(checked.params);
  response.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-security-policy': page.csp, 'cache-control': 'no-cache' });
  response.end(page.html);
}

/** Closes the server and every connection it holds (keep-alive scrapers), within a bound. */
export async function closeHttpServer(server: Server, boundMs = 2000): Promise<void> {
  streamsOf.get(server)?.endAll();
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  const timer = setTimeout(() => server.closeAllConnections(), boundMs);
  await closed;
  clearTimeout(timer);
}

function formatHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

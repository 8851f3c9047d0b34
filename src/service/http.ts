/**
 * The service's HTTP endpoint: /healthz (per-pipeline state; 200 unless a
 * pipeline has failed, 503 then), /metrics (Prometheus text), and control
 * requests for a pipeline's transcriber (control.ts). Loopback by
 * default: it exposes no transcript and no secret (both bodies go through
 * the secret scrubber too), but it is not meant for the internet.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { handleControl, isControlPath } from './control.js';
import type { ServiceMetrics } from './metrics.js';
import type { PipelineRunner } from './pipeline-runner.js';

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
}

/** Listens on host:port; resolves once listening, or rejects naming the address and the reason. */
export async function startHttpServer(host: string, port: number, sources: HttpSources): Promise<{ server: Server; url: string }> {
  const server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0] ?? '/';
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
    response.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /healthz or /metrics\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(new Error(`cannot listen on http://${host}:${port} (service.http): ${error.code ?? error.message}`)),
    );
    server.listen(port, host, resolve);
  });
  const address = server.address() as AddressInfo;
  return { server, url: `http://${formatHost(host)}:${address.port}` };
}

/** Closes the server and every connection it holds (keep-alive scrapers), within a bound. */
export async function closeHttpServer(server: Server, boundMs = 2000): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  const timer = setTimeout(() => server.closeAllConnections(), boundMs);
  await closed;
  clearTimeout(timer);
}

function formatHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

/**
 * The service's HTTP endpoint: /healthz (per-pipeline state; 200 when every
 * pipeline runs, 503 otherwise), /metrics (Prometheus text), and control
 * requests for a pipeline's transcriber (control.ts). Loopback by default: it
 * exposes no transcript and no secret, but it is not meant for the internet.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { handleControl, isControlPath } from './control.js';
import type { ServiceMetrics } from './metrics.js';
import type { PipelineRunner } from './pipeline-runner.js';

export interface HealthReport {
  status: 'ok' | 'degraded' | 'failing';
  pipelines: Record<string, { state: string; transcriber?: string; session_id?: string; capture?: string; error?: string }>;
}

export function healthReport(runners: readonly PipelineRunner[]): HealthReport {
  const pipelines: HealthReport['pipelines'] = {};
  let worst: HealthReport['status'] = 'ok';
  for (const runner of runners) {
    const transcriber = runner.transcriberStatus?.state;
    pipelines[runner.name] = {
      state: runner.state,
      ...(transcriber ? { transcriber } : {}),
      ...(runner.transcriberStatus?.sessionId ? { session_id: runner.transcriberStatus.sessionId } : {}),
      ...(runner.captureStats ? { capture: runner.captureStats.state } : {}),
      ...(runner.failure ? { error: runner.failure } : {}),
    };
    if (runner.state !== 'running') worst = 'failing';
    else if (worst === 'ok' && (transcriber !== 'streaming' || runner.captureStats?.state !== 'running')) worst = 'degraded';
  }
  return { status: worst, pipelines };
}

export async function startHttpServer(
  host: string,
  port: number,
  runners: () => readonly PipelineRunner[],
  metrics: ServiceMetrics,
): Promise<{ server: Server; url: string }> {
  const server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0] ?? '/';
    if (isControlPath(path)) {
      void handleControl(request, response, path, runners());
      return;
    }
    if (request.method !== 'GET') {
      response.writeHead(405, { allow: 'GET' }).end();
      return;
    }
    if (path === '/healthz') {
      const report = healthReport(runners());
      response.writeHead(report.status === 'failing' ? 503 : 200, { 'content-type': 'application/json' });
      response.end(JSON.stringify(report, null, 2) + '\n');
      return;
    }
    if (path === '/metrics') {
      metrics.registry.metrics().then(
        (text) => {
          response.writeHead(200, { 'content-type': metrics.registry.contentType });
          response.end(text);
        },
        (error: Error) => {
          response.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics failed: ${error.message}\n`);
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
  return { server, url: `http://${host}:${address.port}` };
}

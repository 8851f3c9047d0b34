/**
 * Control requests on the service's HTTP endpoint, for what a pipeline's
 * transcriber can be told while it runs:
 *   POST /pipelines/<name>/force-endpoint   end the current turn now
 *   POST /pipelines/<name>/configuration    {"max_turn_silence": 400, ...}: change live parameters
 *   POST /pipelines/<name>/pause            stop transcribing (and paying) until resumed; capture goes on
 *   POST /pipelines/<name>/resume           transcribe again, in a new session
 * Answers 202 when passed on, 400 with the problems for bad parameters, 404
 * for an unknown pipeline, 409 when it is not running (or paused, for
 * force-endpoint), or already paused or resumed.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { checkConfigurationUpdate } from '../transport/live-config.js';
import type { PipelineRunner } from './pipeline-runner.js';

const ROUTE = /^\/pipelines\/([^/]+)\/(force-endpoint|configuration|pause|resume)$/;
const MAX_BODY_BYTES = 64 * 1024;

export function isControlPath(path: string): boolean {
  return ROUTE.test(path);
}

export async function handleControl(request: IncomingMessage, response: ServerResponse, path: string, runners: readonly PipelineRunner[]): Promise<void> {
  const reply = (status: number, body: object): void => {
    response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body) + '\n');
  };
  const [, encodedName = '', action] = ROUTE.exec(path) ?? [];
  if (request.method !== 'POST') {
    response.writeHead(405, { allow: 'POST' }).end();
    return;
  }
  const name = decodeURIComponent(encodedName);
  const runner = runners.find((r) => r.name === name);
  if (!runner) {
    reply(404, { error: `no pipeline named ${JSON.stringify(name)}; pipelines: ${runners.map((r) => r.name).join(', ')}` });
    return;
  }
  if (action === 'pause' || action === 'resume') {
    const refused = runner.setPaused(action === 'pause');
    if (refused !== undefined) reply(409, { error: refused });
    else reply(202, { pipeline: name, paused: action === 'pause' });
    return;
  }
  let params: Record<string, unknown> = {};
  if (action === 'configuration') {
    const body = await readBody(request);
    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
    } catch {
      reply(400, { error: 'the body must be a JSON object of parameters' });
      return;
    }
    const checked = checkConfigurationUpdate(parsed);
    if (!checked.ok) {
      reply(400, { error: 'invalid parameters', problems: checked.problems });
      return;
    }
    params = checked.params;
  }
  const passed = action === 'force-endpoint' ? runner.forceEndpoint() : runner.updateConfiguration(params);
  if (!passed) reply(409, { error: `pipeline ${name} is ${runner.displayState}` });
  else reply(202, { pipeline: name, ...(action === 'configuration' ? { updated: params } : { force_endpoint: true }) });
}

async function readBody(request: IncomingMessage): Promise<string> {
  let body = '';
  for await (const chunk of request) {
    body += (chunk as Buffer).toString('utf8');
    if (body.length > MAX_BODY_BYTES) break;
  }
  return body;
}

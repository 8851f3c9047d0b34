/** Shared set-up for the server tests: a tone script, its audio, a server per test. */
import { once } from 'node:events';
import { startStreamingServer, type StreamingServer, type StreamingServerOptions } from '../../src/serve/server.js';
import { createScriptEngine, parseScript } from '../../src/serve/engines/script.js';
import { chunkPcmPadded } from '../support/pcm.js';
import { buildToneAudio, type ToneAudio } from '../support/tone-audio.js';
import type { SessionClosedInfo } from '../../src/serve/session.js';

export const RATE = 16000;

export const SCRIPT = parseScript(`
turns:
  - { text: "Hello, world.", tone_hz: 500 }
  - { text: "Second turn here.", tone_hz: 800, confidence: 0.85 }
`);

export const AUDIO: ToneAudio = buildToneAudio(SCRIPT);
export const CHUNKS_100MS = chunkPcmPadded(AUDIO.samples, RATE, 100);

const servers: StreamingServer[] = [];

export async function startServer(options: Partial<StreamingServerOptions> = {}): Promise<StreamingServer> {
  const server = await startStreamingServer({ engine: createScriptEngine(SCRIPT), closeTimeoutMs: 1000, ...options });
  servers.push(server);
  return server;
}

export async function closeServers(): Promise<void> {
  await Promise.all(servers.splice(0).map((server) => server.close()));
}

export function nextClosed(server: StreamingServer): Promise<SessionClosedInfo> {
  return once(server, 'session-closed').then(([info]) => info as SessionClosedInfo);
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** G.711 mu-law encoding of one 16-bit sample. */
export function linearToMulaw(input: number): number {
  let sample = input;
  const sign = sample < 0 ? 0x80 : 0;
  if (sign !== 0) sample = -sample;
  sample = Math.min(sample, 32635) + 0x84;
  let exponent = 7;
  for (let mask = 0x4000; (sample & mask) === 0 && exponent > 0; exponent--, mask >>= 1);
  const mantissa = (sample >> (exponent + 3)) & 0x0f;
  return ~(sign | (exponent << 4) | mantissa) & 0xff;
}

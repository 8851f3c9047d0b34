/**
 * Runs one streaming session with the official `assemblyai` SDK and prints
 * what it saw as JSON lines on stdout. Run in a child process so that
 * NODE_EXTRA_CA_CERTS can make it trust a test certificate.
 *
 * argv[2]: JSON SdkSessionInput.
 */
import { readFileSync } from 'node:fs';
import { AssemblyAI } from 'assemblyai';

export interface SdkSessionInput {
  /** https://host:port: the token endpoint's base and the wss:// URL's host */
  httpsBase: string;
  apiKey: string;
  /** Authenticate the WebSocket with a temporary token instead of the key. */
  useToken: boolean;
  pcmFile: string;
  sampleRate: number;
  formatTurns: boolean;
  chunkMs: number;
  /** Pace: 1 is real time. */
  speed: number;
  /** Ask for diarization (speaker_labels). */
  speakerLabels?: boolean;
}

const print = (event: Record<string, unknown>): void => void process.stdout.write(`${JSON.stringify(event)}\n`);

async function main(): Promise<void> {
  const input = JSON.parse(process.argv[2] ?? '{}') as SdkSessionInput;
  const client = new AssemblyAI({ apiKey: input.apiKey, streamingBaseUrl: input.httpsBase });
  const websocketBaseUrl = `${input.httpsBase.replace('https://', 'wss://')}/v3/ws`;
  const auth = input.useToken
    ? { token: await client.streaming.createTemporaryToken({ expires_in_seconds: 60 }) }
    : { apiKey: input.apiKey };
  if (input.useToken) print({ event: 'token' });
  const transcriber = client.streaming.transcriber({
    ...auth,
    websocketBaseUrl,
    sampleRate: input.sampleRate,
    formatTurns: input.formatTurns,
    ...(input.speakerLabels !== undefined ? { speakerLabels: input.speakerLabels } : {}),
  });
  transcriber.on('speakerRevision', (revision) => print({ event: 'speakerRevision', revision }));
  transcriber.on('open', (begin) => print({ event: 'open', begin }));
  transcriber.on('turn', (turn) => print({ event: 'turn', turn }));
  transcriber.on('error', (error: Error) => print({ event: 'error', message: error.message }));
  transcriber.on('close', (code: number, reason: string) => print({ event: 'close', code, reason }));
  await transcriber.connect();
  // Every frame as it arrived, to check order around Terminate (the SDK does not surface Termination).
  const socket = (transcriber as unknown as { socket: { on(event: 'message', listener: (data: Buffer) => void): void } }).socket;
  socket.on('message', (data) => print({ event: 'frame', raw: data.toString() }));

  const pcm = readFileSync(input.pcmFile);
  const bytesPerChunk = Math.round((input.sampleRate * input.chunkMs) / 1000) * 2;
  const started = Date.now();
  for (let offset = 0, sentMs = 0; offset < pcm.length; offset += bytesPerChunk, sentMs += input.chunkMs) {
    const chunk = pcm.subarray(offset, offset + bytesPerChunk);
    transcriber.sendAudio(chunk.buffer.slice(chunk.byteOffset, chunk.byteOffset + chunk.byteLength));
    const wait = started + sentMs / input.speed - Date.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
  }
  const closing = Date.now();
  await transcriber.close();
  print({ event: 'closed', closeMs: Date.now() - closing });
}

main().catch((error: unknown) => {
  print({ event: 'fatal', message: (error as Error).message });
  process.exitCode = 1;
});

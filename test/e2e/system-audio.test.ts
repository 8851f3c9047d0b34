/**
 * The walking skeleton, end to end and for real: a private PulseAudio null
 * sink stands in for BlackHole; `earshot run` (the real command, as a child
 * process) captures its monitor, streams to `earshot serve` (the script
 * engine), and writes JSONL and a WAV recording; paplay plays real speech
 * into the sink; Ctrl+C (SIGINT) ends the run.
 */
import { expect } from 'chai';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createScriptEngine, parseScript } from '../../src/serve/engines/script.js';
import type { EngineFactory } from '../../src/serve/engine.js';
import { startStreamingServer, type StreamingServer } from '../../src/serve/server.js';
import type { SessionClosedInfo } from '../../src/serve/session.js';
import type { TranscriptEvent } from '../../src/model/transcript.js';
import { runEarshot, until } from '../support/child.js';
import { LIBRIVOX_DIR, readPcm } from '../support/librivox.js';
import { concatPcm, readWav, silence } from '../support/pcm.js';
import { PrivatePulse } from '../support/pulse.js';
import { alignAndCompare } from '../support/signal.js';
import { speechSpan } from '../support/speech-span.js';
import { writeWav } from '../support/wav.js';

const CLIPS = ['sense_and_sensibility_01_austen_64kb-0880.wav', 'sense_and_sensibility_01_austen_64kb-0930.wav'];
const SCRIPT = `
turns:
  - text: "He was not an ill-disposed young man."
  - text: "He might even have been made amiable himself."
end_of_turn_silence_ms: 1000
`;

/** A script engine that also keeps every sample the server received, per session. */
function recordingEngine(received: Int16Array[]): EngineFactory {
  const script = createScriptEngine(parseScript(SCRIPT, 'e2e-script.yaml'));
  return (options) => {
    const engine = script(options);
    return {
      ...engine,
      pushAudio(samples) {
        received.push(samples.slice());
        engine.pushAudio(samples);
      },
      forceEndpoint: () => engine.forceEndpoint(),
      finish: () => engine.finish(),
      close: () => engine.close(),
      onTurn: (listener) => engine.onTurn(listener),
      onError: (listener) => engine.onError(listener),
    };
  };
}

describe('end to end: system audio in, transcript out', function () {
  this.timeout(120000);
  let pulse: PrivatePulse;
  let server: StreamingServer;
  let dir: string;
  const received: Int16Array[] = [];
  const closed: SessionClosedInfo[] = [];

  before(async () => {
    pulse = await PrivatePulse.start([{ name: 'earshot_e2e' }]);
    server = await startStreamingServer({ engine: recordingEngine(received), apiKeys: ['e2e-key'] });
    server.on('session-closed', (info) => closed.push(info));
    dir = await mkdtemp(join(tmpdir(), 'earshot-e2e-'));
  });

  after(async () => {
    await server?.close();
    await pulse?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('captures the monitor, streams to earshot serve, writes the scripted turns and the recording, and stops cleanly on Ctrl+C', async () => {
    // The clip played: two real recordings with a pause between them.
    const clips = await Promise.all(CLIPS.map((c) => readPcm(join(LIBRIVOX_DIR, c))));
    const clip = concatPcm(clips[0]!, silence(1500, 16000), clips[1]!);
    // A null sink's monitor only runs while something plays, and PulseAudio drops the
    // first few ms of a playback stream: a lead-in of silence keeps the clip whole.
    const clipFile = join(dir, 'clip.wav');
    await writeWav(clipFile, concatPcm(silence(500, 16000), clip), 16000, 1);

    const pipelineFile = join(dir, 'pipeline.yaml');
    await writeFile(
      pipelineFile,
      [
        'version: 1',
        'pipelines:',
        '  system:',
        '    source: { type: portaudio, device: "earshot_e2e.monitor" }',
        '    transcriber:',
        '      type: assemblyai',
        '      api_key: ${ASSEMBLYAI_API_KEY}',
        `      url: ${server.url}`,
        '      params: { format_turns: true }',
        '    sinks:',
        '      - { type: file, path: "out/{pipeline}.jsonl", format: jsonl }',
        '      - { type: wav, path: "out/{pipeline}.wav" }',
        '',
      ].join('\n'),
    );
    const earshot = runEarshot(['run', pipelineFile], { ...pulse.env, ASSEMBLYAI_API_KEY: 'e2e-key' });
    await earshot.waitFor(/transcriber session started/, 30000);
    // PulseAudio delivers its first buffer a moment after the stream opens: play once audio flows.
    await until(() => (server.sessions()[0]?.audioMsReceived ?? 0) > 200, 30000, 'captured audio at the server');
    await pulse.play(clipFile, 'earshot_e2e');
    await new Promise((r) => setTimeout(r, 2500)); // the last turn ends after its trailing silence
    earshot.child.kill('SIGINT');
    expect(await earshot.exited(30000), 'exit code after Ctrl+C').to.equal(0);

    // Ctrl+C sent Terminate and waited for Termination.
    expect(closed, 'one session').to.have.length(1);
    expect(closed[0]).to.deep.include({ code: 1000, terminationSent: true });

    // The server heard the clip: the whole of it, not silence or noise.
    const heard = concatPcm(...received);
    const heardSpan = speechSpan(heard);
    const clipSpan = speechSpan(clip);
    const heardMs = heardSpan.end_ms - heardSpan.start_ms;
    const clipMs = clipSpan.end_ms - clipSpan.start_ms;
    const toleranceMs = (50 * clipMs) / 1000; // one 50 ms frame per second of audio
    expect(Math.abs(heardMs - clipMs), `speech heard for ${heardMs} ms, played ${clipMs} ms`).to.be.at.most(toleranceMs);
    const { lag, snrDb } = alignAndCompare(clip, heard, { fractional: true });
    expect(lag, 'the clip sits inside what was received').to.be.within(0, heard.length - clip.length);
    // The sink runs at 44.1 kHz stereo: PulseAudio resamples the clip up and our 16 kHz capture down (36.6 dB measured).
    expect(snrDb, "received audio against the clip, aligned to a fraction of a sample").to.be.above(30);

    // The scripted turns, as finals, in order.
    const events = (await readFile(join(dir, 'out', 'system.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as TranscriptEvent);
    expect(events.map((e) => e.text)).to.deep.equal(['He was not an ill-disposed young man.', 'He might even have been made amiable himself.']);
    expect(events.every((e) => e.final && e.formatted)).to.equal(true);
    expect(events[1]!.seq).to.be.greaterThan(events[0]!.seq);
    // Times are positions in the pipeline's audio: the turns sit where the speech was.
    const clipStartMs = (lag * 1000) / 16000;
    expect(events[0]!.start_ms).to.be.within(clipStartMs + clipSpan.start_ms - 300, clipStartMs + clipSpan.start_ms + 300);

    // The recording holds exactly what the transcriber was sent.
    const recording = readWav(join(dir, 'out', 'system.wav'));
    expect(recording.sampleRate).to.equal(16000);
    expect(recording.samples.length).to.equal(heard.length);
    expect(Buffer.from(recording.samples.buffer).equals(Buffer.from(heard.buffer)), 'same samples as sent').to.equal(true);
  });
});

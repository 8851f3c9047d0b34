/**
 * Pause and resume over the service's HTTP endpoint, through the real
 * pipeline (file source at real-time pace, transport worker, JSONL sink) and
 * a real `earshot serve` script engine on loopback: the turn being spoken when
 * the pause comes is finalised and delivered, the session is closed and the
 * server hears nothing while paused, and after resume a new session carries
 * the transcript on with `seq` growing and times that are still positions in
 * the captured audio (so they jump by the pause).
 */
import { expect } from 'chai';
import type { Service } from '../../src/service/service.js';
import { fetchText, parseMetrics, sample } from '../service/harness.js';
import { TcpProxy } from '../support/tcp-proxy.js';
import { readWavSamples } from '../support/wav.js';
import { runPipeline, startWatchedServer, toneAudioFor, toneScript, waitUntil, withTempDir } from './harness.js';

const FRAME_MS = 50;

async function post(service: Service, path: string): Promise<{ status: number; json: Record<string, unknown> }> {
  const response = await fetch(`${service.httpUrl ?? ''}${path}`, { method: 'POST' });
  const text = await response.text();
  return { status: response.status, json: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>) };
}

async function health(service: Service): Promise<{ status: string; pipelines: Record<string, { state: string; transcriber?: string }> }> {
  return JSON.parse((await fetchText(`${service.httpUrl ?? ''}/healthz`)).text) as { status: string; pipelines: Record<string, { state: string; transcriber?: string }> };
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('transport: pause and resume over the service\'s HTTP endpoint (real pipeline)', function () {
  this.timeout(60000);

  it('finalises the open turn, sends nothing while paused, and resumes in a new session on the same timeline', async () => {
    const script = toneScript(6);
    const audio = toneAudioFor(script);
    const watched = await startWatchedServer(script);
    const heard = (): number => watched.server.sessions()[0]?.audioMsReceived ?? 0;
    const replies: Record<string, { status: number; json: Record<string, unknown> }> = {};
    const during: { health?: Awaited<ReturnType<typeof health>>; openSessions?: number; metricsPaused?: Map<string, number>; metricsAfter?: Map<string, number>; get405?: number } = {};
    const at: { pause: number; resume: number } = { pause: NaN, resume: NaN };
    let heardAtPause = NaN;
    let recording: Int16Array = new Int16Array(0);
    try {
      const run = await withTempDir('earshot-pause-', async (dir) => {
        const result = await runPipeline({
          dir,
          audio,
          url: watched.server.url,
          transcriber: 'params: { format_turns: true }',
          service: 'http: { host: 127.0.0.1, port: 0 }',
          sinks: ['{ type: wav, path: "recording.wav" }'],
          during: async (service) => {
            await waitUntil(() => service.httpUrl !== undefined && watched.server.sessions().length === 1, 'the first session');
            replies.resumeRunning = await post(service, '/pipelines/meeting/resume');
            const turn = audio.turns[1]!;
            await waitUntil(() => heard() >= turn.start_ms + 600, 'the middle of the second turn');
            heardAtPause = heard();
            at.pause = Date.now();
            replies.pause = await post(service, '/pipelines/meeting/pause');
            replies.pauseAgain = await post(service, '/pipelines/meeting/pause');
            replies.force = await post(service, '/pipelines/meeting/force-endpoint');
            replies.unknown = await post(service, '/pipelines/nope/pause');
            during.get405 = (await fetch(`${service.httpUrl ?? ''}/pipelines/meeting/pause`)).status;
            await waitUntil(() => watched.sessions[0]?.closed !== undefined, 'the first session to close');
            await waitUntil(() => service.runners[0]?.transcriberStatus?.state === 'paused', 'the transport to report paused');
            during.health = await health(service);
            during.openSessions = watched.server.sessions().length;
            await sleep(2500);
            during.metricsPaused = parseMetrics((await fetchText(`${service.httpUrl ?? ''}/metrics`)).text);
            await sleep(4000 - (Date.now() - at.pause));
            at.resume = Date.now();
            replies.resume = await post(service, '/pipelines/meeting/resume');
            await waitUntil(() => watched.sessions[1]?.firstAudioAt !== undefined, 'audio in the second session');
            await sleep(1300); // the transport reports its figures every second
            during.metricsAfter = parseMetrics((await fetchText(`${service.httpUrl ?? ''}/metrics`)).text);
          },
        });
        recording = await readWavSamples(`${dir}/recording.wav`);
        return result;
      });
      expect(run.exitCode, run.failure).to.equal(0);
      expect(replies.resumeRunning).to.deep.equal({ status: 409, json: { error: 'pipeline meeting is already running' } });
      expect(replies.pause).to.deep.equal({ status: 202, json: { pipeline: 'meeting', paused: true } });
      expect(replies.pauseAgain).to.deep.equal({ status: 409, json: { error: 'pipeline meeting is already paused' } });
      expect(replies.force).to.deep.equal({ status: 409, json: { error: 'pipeline meeting is paused' } });
      expect(replies.unknown?.status).to.equal(404);
      expect(replies.unknown?.json.error).to.equal('no pipeline named "nope"; pipelines: meeting');
      expect(during.get405).to.equal(405);
      expect(replies.resume).to.deep.equal({ status: 202, json: { pipeline: 'meeting', paused: false } });

      // While paused: no session open, healthy, and shown as paused.
      expect(during.openSessions).to.equal(0);
      expect(during.health?.status).to.equal('ok');
      expect(during.health?.pipelines.meeting).to.deep.include({ state: 'paused', transcriber: 'paused' });
      expect(sample(during.metricsPaused!, 'earshot_pipeline_paused', { pipeline: 'meeting' })).to.equal(1);
      expect(sample(during.metricsPaused!, 'earshot_transcriber_connected', { pipeline: 'meeting' })).to.equal(0);

      // The first session was ended gracefully and heard nothing past the pause; the second began after the resume.
      expect(watched.sessions).to.have.length(2);
      const [first, second] = watched.sessions as [NonNullable<(typeof watched.sessions)[0]>, NonNullable<(typeof watched.sessions)[1]>];
      expect(first.closed?.terminationSent, 'Terminate -> Termination').to.equal(true);
      const pausedAtMs = first.closed?.audioMsReceived ?? NaN;
      expect(pausedAtMs - heardAtPause, 'audio sent after the pause request (what was already captured)').to.be.within(0, 3 * FRAME_MS);
      expect(second.beganAt!, 'no session while paused').to.be.at.least(at.resume);
      expect(first.closedAt!).to.be.at.most(at.resume);
      const stats = run.stats!;
      const pausedMs = stats.framesPaused * FRAME_MS;
      const resumedAtMs = pausedAtMs + pausedMs;
      const secondMs = second.closed?.audioMsReceived ?? NaN;
      expect(pausedAtMs + pausedMs + secondMs, 'sent + paused = the whole file').to.be.closeTo(audio.durationMs, 2 * FRAME_MS);
      expect(stats.framesLost).to.equal(0);
      expect(stats.framesMissing).to.equal(0);
      expect(stats.sessions).to.equal(2);
      expect(stats.reconnects).to.equal(0);

      // Paused frames are counted as such, not as drops.
      const after = during.metricsAfter!;
      expect(sample(after, 'earshot_frames_paused_total', { pipeline: 'meeting' })).to.equal(stats.framesPaused);
      for (const stage of ['ring', 'device', 'backlog']) expect(sample(after, 'earshot_frames_dropped_total', { pipeline: 'meeting', stage }), stage).to.equal(0);
      expect(sample(after, 'earshot_pipeline_paused', { pipeline: 'meeting' })).to.equal(0);

      // One transcript: seq grows; the turn cut by the pause is finalised; turns after the resume sit at their place in the audio.
      const seqs = run.events.map((e) => e.seq);
      expect(seqs).to.deep.equal([...seqs].sort((a, b) => a - b));
      expect(new Set(seqs).size).to.equal(seqs.length);
      const finals = run.events.filter((e) => e.final);
      const cut = audio.turns[1]!;
      expect(finals[0]?.text).to.equal(audio.turns[0]!.text);
      const cutFinal = finals[1]!;
      expect(cut.text.startsWith(cutFinal.text) && cutFinal.text !== cut.text, `"${cutFinal.text}" is the start of "${cut.text}"`).to.equal(true);
      expect(cutFinal.session_id).to.equal(first.id);
      expect(cutFinal.end_ms).to.be.within(cut.start_ms, pausedAtMs + FRAME_MS);
      const inPause = audio.turns.filter((t) => t.start_ms >= pausedAtMs && t.end_ms <= resumedAtMs);
      expect(inPause.length, 'a whole turn was spoken during the pause').to.be.at.least(1);
      const after_ = audio.turns.filter((t) => t.start_ms >= resumedAtMs);
      expect(after_.length).to.be.at.least(2);
      const resumedFinals = finals.filter((e) => e.session_id === second.id);
      for (const turn of inPause) expect(finals.map((e) => e.text), 'never heard').not.to.include(turn.text);
      for (const turn of after_) {
        const event = resumedFinals.find((e) => e.text === turn.text);
        expect(event, turn.text).to.not.equal(undefined);
        expect(Math.abs(event!.start_ms - turn.start_ms), turn.text).to.be.at.most(60);
      }
      expect(resumedFinals[0]!.start_ms - cutFinal.end_ms, 'the gap a reader sees').to.be.at.least(pausedMs);

      // The recording: the audio up to the pause and from the resume, silence in between, on the pipeline's clock.
      const at_ = (ms: number): number => Math.round((ms * audio.sampleRate) / 1000);
      expect(recording.length).to.be.closeTo(audio.samples.length, at_(FRAME_MS));
      const same = (from: number, to: number): boolean => recording.subarray(at_(from), at_(to)).every((v, i) => v === audio.samples[at_(from) + i]);
      expect(same(0, pausedAtMs), 'recorded up to the pause').to.equal(true);
      expect(recording.subarray(at_(pausedAtMs), at_(resumedAtMs)).every((v) => v === 0), 'silence while paused').to.equal(true);
      expect(same(resumedAtMs, audio.durationMs - FRAME_MS), 'recorded from the resume').to.equal(true);

      const logs = run.logs.filter((r) => r.pipeline === 'meeting');
      expect(logs.some((r) => String(r.msg).startsWith('paused (its session ended with its last turn)'))).to.equal(true);
      expect(logs.some((r) => String(r.msg).startsWith('resumed'))).to.equal(true);
      const figures = {
        pause_to_session_closed_ms: first.closedAt! - at.pause,
        audio_after_pause_request_ms: pausedAtMs - heardAtPause,
        paused_ms: pausedMs,
        resume_to_first_audio_ms: second.firstAudioAt! - at.resume,
      };
      console.log(`      figures: ${JSON.stringify(figures)}`);
    } finally {
      await watched.close();
    }
  });

  it('resumed while the pause still ends its session, which never answers Terminate: the cut turn is replayed and delivered once', async () => {
    const script = toneScript(5);
    const audio = toneAudioFor(script);
    const watched = await startWatchedServer(script, { faults: [{ kind: 'ignore-terminate', sessions: [0] }] });
    const heard = (): number => watched.server.sessions()[0]?.audioMsReceived ?? 0;
    let stateAtResume: string | undefined;
    try {
      const run = await withTempDir('earshot-pause-noterm-', (dir) =>
        runPipeline({
          dir,
          audio,
          url: watched.server.url,
          transcriber: 'params: { format_turns: true }\ntermination_timeout_ms: 2000',
          service: 'http: { host: 127.0.0.1, port: 0 }',
          during: async (service) => {
            await waitUntil(() => service.httpUrl !== undefined && heard() >= audio.turns[1]!.start_ms + 600, 'the middle of the second turn');
            expect((await post(service, '/pipelines/meeting/pause')).status).to.equal(202);
            await sleep(1000);
            stateAtResume = service.runners[0]?.transcriberStatus?.state;
            expect((await post(service, '/pipelines/meeting/resume')).status).to.equal(202);
          },
        }),
      );
      expect(run.exitCode, run.failure).to.equal(0);
      expect(stateAtResume, 'still waiting for Termination').to.equal('pausing');
      const [first, second] = watched.sessions;
      expect(first?.closed?.terminationSent).to.equal(false);
      expect(second?.beganAt, 'the next session opens once the paused one is closed').to.be.at.least(first!.closedAt!);
      const finals = run.events.filter((e) => e.final);
      const cut = audio.turns[1]!;
      const cutFinals = finals.filter((e) => cut.text.startsWith(e.text));
      expect(cutFinals, 'the cut turn, delivered once').to.have.length(1);
      expect(cutFinals[0]!.session_id, 'from the replay').to.equal(second!.id);
      expect(Math.abs(cutFinals[0]!.start_ms - cut.start_ms)).to.be.at.most(60);
      expect(finals[0]?.text).to.equal(audio.turns[0]!.text);
      expect(finals.at(-1)?.text).to.equal(audio.turns.at(-1)!.text);
      expect(run.stats?.framesLost).to.equal(0);
      expect(run.stats?.framesPaused).to.be.within(15, 25); // about the second between pause and resume, in 50 ms frames
    } finally {
      await watched.close();
    }
  });

  it('paused while reconnecting: stops trying until resumed, then transcribes what was captured before the pause', async () => {
    const script = toneScript(5);
    const audio = toneAudioFor(script);
    const watched = await startWatchedServer(script);
    const proxy = await TcpProxy.start(watched.server.port);
    let refusedAtPause = NaN;
    let refusedBeforeResume = NaN;
    let state: string | undefined;
    try {
      const run = await withTempDir('earshot-pause-outage-', (dir) =>
        runPipeline({
          dir,
          audio,
          url: proxy.url(watched.server.url),
          transcriber: 'params: { format_turns: true }\nreconnect: { max_attempts: 0, initial_delay_ms: 100, max_delay_ms: 200 }',
          service: 'http: { host: 127.0.0.1, port: 0 }',
          during: async (service) => {
            await waitUntil(() => service.httpUrl !== undefined && (watched.server.sessions()[0]?.audioMsReceived ?? 0) >= audio.turns[0]!.end_ms + 300, 'the end of the first turn');
            proxy.refuse(true);
            proxy.cut();
            // The second turn is spoken while the transcriber is unreachable; it waits in the backlog.
            await waitUntil(() => proxy.refused >= 3, 'a few refused reconnection attempts');
            await sleep(Math.max(0, audio.turns[1]!.end_ms - audio.turns[0]!.end_ms));
            refusedAtPause = proxy.refused;
            expect((await post(service, '/pipelines/meeting/pause')).status).to.equal(202);
            await waitUntil(() => service.runners[0]?.transcriberStatus?.state === 'paused', 'paused');
            await sleep(1500);
            refusedBeforeResume = proxy.refused;
            state = (await health(service)).pipelines.meeting?.state;
            proxy.refuse(false);
            expect((await post(service, '/pipelines/meeting/resume')).status).to.equal(202);
          },
        }),
      );
      expect(run.exitCode, run.failure).to.equal(0);
      expect(state).to.equal('paused');
      expect(refusedBeforeResume - refusedAtPause, 'connection attempts while paused').to.be.at.most(1);
      const finals = run.events.filter((e) => e.final);
      expect(finals[0]?.text).to.equal(audio.turns[0]!.text);
      const spokenDuringOutage = finals.find((e) => e.text === audio.turns[1]!.text);
      expect(spokenDuringOutage, 'the turn captured before the pause, while disconnected').to.not.equal(undefined);
      expect(Math.abs(spokenDuringOutage!.start_ms - audio.turns[1]!.start_ms)).to.be.at.most(60);
      expect(run.stats?.framesLost).to.equal(0);
      expect(run.stats?.framesPaused).to.be.greaterThan(0);
      expect(finals.at(-1)?.text, 'resumed to the end').to.equal(audio.turns.at(-1)!.text);
    } finally {
      await proxy.close();
      await watched.close();
    }
  });
});

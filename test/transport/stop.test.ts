/**
 * Done-when 3 and 6 (stop): `earshot run` as a child process, stopped with
 * SIGTERM. In the middle of a turn, that turn's final still reaches the sink
 * and the exit code is 0. With the connection down, the stop is bounded and
 * the audio that never reached the transcriber is reported.
 */
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TcpProxy } from '../support/tcp-proxy.js';
import { readTranscript, startWatchedServer, toneAudioFor, toneScript, waitUntil, withTempDir, writePipelineFiles, type WatchedServer } from './harness.js';

const earshot = resolve(dirname(fileURLToPath(import.meta.url)), '../../../bin/earshot.cjs');

interface Child {
  exited: Promise<number | null>;
  logs: () => { level: number; msg: string; [field: string]: unknown }[];
  kill: (signal: NodeJS.Signals) => void;
}

function runEarshot(yaml: string): Child {
  const child = spawn(process.execPath, [earshot, 'run', yaml], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (data: Buffer) => (stderr += data.toString()));
  const exited = new Promise<number | null>((done) => child.on('exit', (code) => done(code)));
  const bound = setTimeout(() => child.kill('SIGKILL'), 60000);
  void exited.then(() => clearTimeout(bound));
  return {
    exited,
    logs: () => stderr.split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as { level: number; msg: string }),
    kill: (signal) => child.kill(signal),
  };
}

/** Audio the first session has received, in ms of the pipeline's audio (no reconnect before it). */
const heardMs = (watched: WatchedServer): number => watched.server.sessions()[0]?.audioMsReceived ?? 0;

describe('earshot run stopped by SIGTERM (child process)', function () {
  this.timeout(60000);
  const script = toneScript(4);
  const audio = toneAudioFor(script);

  it('in the middle of a turn: that turn\'s final still reaches the file sink, exit code 0', async () => {
    const watched = await startWatchedServer(script);
    try {
      await withTempDir('earshot-sigterm-', async (dir) => {
        const { yaml } = await writePipelineFiles({ dir, audio, url: watched.server.url, transcriber: 'params: { format_turns: true }' });
        const child = runEarshot(yaml);
        const turn = audio.turns[1]!;
        const middle = (turn.start_ms + turn.end_ms) / 2;
        await waitUntil(() => heardMs(watched) >= middle, 'the middle of the second turn');
        const killedAt = Date.now();
        child.kill('SIGTERM');
        expect(await child.exited).to.equal(0);
        const finals = (await readTranscript(dir)).filter((e) => e.final);
        expect(finals.map((e) => e.text)[0]).to.equal(audio.turns[0]!.text);
        expect(finals, 'the turn cut short, and nothing after it').to.have.length(2);
        const cut = finals[1]!;
        // Cut mid-turn, the service finalises the words heard so far: a prefix of the turn's text.
        expect(cut.text.length).to.be.greaterThan(0);
        expect(turn.text.startsWith(cut.text), `"${cut.text}" begins "${turn.text}"`).to.equal(true);
        expect(Math.abs(cut.start_ms - turn.start_ms)).to.be.at.most(60);
        expect(cut.end_ms).to.be.within(turn.start_ms, turn.end_ms);
        expect(Date.parse(cut.received_at)).to.be.at.least(killedAt);
        expect(watched.sessions[0]?.closed).to.include({ code: 1000, terminationSent: true });
      });
    } finally {
      await watched.close();
    }
  });

  it('with the connection down: stops within the shutdown bound and reports the audio that never reached the transcriber', async () => {
    const watched = await startWatchedServer(script);
    const proxy = await TcpProxy.start(watched.server.port);
    try {
      await withTempDir('earshot-sigterm-down-', async (dir) => {
        const { yaml } = await writePipelineFiles({
          dir,
          audio,
          url: proxy.url(watched.server.url),
          transcriber: 'params: { format_turns: true }\nreconnect: { max_attempts: 0, initial_delay_ms: 100, max_delay_ms: 500 }',
          service: 'shutdown_timeout_ms: 4000',
        });
        const child = runEarshot(yaml);
        const firstTurn = audio.turns[0]!;
        await waitUntil(() => heardMs(watched) >= firstTurn.end_ms + 1000, 'the first turn and its end-of-turn silence');
        proxy.refuse(true);
        proxy.cut();
        await new Promise((r) => setTimeout(r, 1500));
        const killedAt = Date.now();
        child.kill('SIGTERM');
        const code = await child.exited;
        const stopMs = Date.now() - killedAt;
        expect(code, 'a graceful stop, however incomplete').to.equal(0);
        expect(stopMs, 'bounded by shutdown_timeout_ms').to.be.below(4000 + 2000);
        const loss = child.logs().find((r) => r.level >= 50 && r.msg.startsWith('stopping with audio missing from the transcript'));
        expect(loss, JSON.stringify(child.logs().filter((r) => r.level >= 40).map((r) => r.msg))).to.not.equal(undefined);
        expect(Number(loss?.seconds_unsent) + Number(loss?.seconds_unconfirmed)).to.be.at.least(1.5);
        const finals = (await readTranscript(dir)).filter((e) => e.final);
        expect(finals.map((e) => e.text)).to.deep.equal([firstTurn.text]);
        console.log(`      stopped ${stopMs} ms after SIGTERM; ${loss?.msg}`);
      });
    } finally {
      await proxy.close();
      await watched.close();
    }
  });
});

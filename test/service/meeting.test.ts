/**
 * examples/meeting.yaml, as a user runs it: a microphone ("me") and the
 * system audio ("them") in one transcript. A private PulseAudio stands in for
 * the sound card: two null sinks, whose monitors are the two capture
 * devices, each played its own side of the conversation at the same time.
 * Both pipelines write into one text file and one jsonl file; every line of
 * each must be whole, labelled, and on the side that said it.
 */
import { expect } from 'chai';
import { copyFile, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SCRIPT } from '../serve/helpers.js';
import { PrivatePulse } from '../support/pulse.js';
import { buildToneAudio } from '../support/tone-audio.js';
import { writeWav } from '../support/wav.js';
import { EarshotProcess, fetchHealth, sample, scrape, ScriptServer, waitFor } from './harness.js';

const EXAMPLE = resolve(dirname(fileURLToPath(import.meta.url)), '../../../examples/meeting.yaml');
const API_KEY = 'meeting-test-key-0123456789';
const ROUNDS = 3;
/** What each side says, as the script engine hears it (turn 0 for me, turn 1 for them). */
const SAYS = { me: SCRIPT.turns[0]?.text, them: SCRIPT.turns[1]?.text };
const TEXT_LINE = /^\[\d\d:\d\d:\d\d\.\d{3}\] (me|them): (.+)$/;

describe('examples/meeting.yaml: microphone and system audio in one transcript', function () {
  this.timeout(60000);
  let pulse: PrivatePulse;
  let server: ScriptServer;
  let dir: string;
  let earshot: EarshotProcess;

  before(async () => {
    pulse = await PrivatePulse.start([{ name: 'earshot_mic' }, { name: 'earshot_system' }]);
    server = await ScriptServer.start(API_KEY);
    dir = await mkdtemp(join(tmpdir(), 'earshot-meeting-'));
    await copyFile(EXAMPLE, join(dir, 'meeting.yaml'));
    await writeWav(join(dir, 'me.wav'), buildToneAudio(SCRIPT, { order: [0] }).samples, 16000, 1);
    await writeWav(join(dir, 'them.wav'), buildToneAudio(SCRIPT, { order: [1] }).samples, 16000, 1);
  });

  after(async () => {
    earshot?.kill();
    await server?.close();
    await pulse?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('labels each side, never mixes two lines, and flushes both files on SIGTERM', async () => {
    earshot = EarshotProcess.run('meeting.yaml', {
      cwd: dir,
      env: {
        ...pulse.env,
        ASSEMBLYAI_API_KEY: API_KEY,
        ASSEMBLYAI_URL: server.wsUrl,
        EARSHOT_MIC: 'earshot_mic.monitor',
        EARSHOT_SYSTEM: 'earshot_system.monitor',
        EARSHOT_HTTP_PORT: '0',
      },
    });
    const url = await earshot.httpUrl();
    await waitFor(async () => {
      const health = await fetchHealth(url);
      return health.status === 'ok';
    }, 'both pipelines to capture and stream', 20000);

    // Both sides talk at once, so their finals reach the shared files together.
    for (let round = 0; round < ROUNDS; round++) {
      await Promise.all([pulse.play(join(dir, 'me.wav'), 'earshot_mic'), pulse.play(join(dir, 'them.wav'), 'earshot_system')]);
    }
    await waitFor(async () => {
      const metrics = await scrape(url);
      return ['me', 'them'].every((pipeline) => (sample(metrics, 'earshot_turns_final_total', { pipeline }) ?? 0) >= ROUNDS);
    }, 'every turn of both sides', 15000);
    earshot.signal('SIGTERM');
    expect((await earshot.exitWithin(20000)).code).to.equal(0);

    const files = await readdir(join(dir, 'transcripts'));
    expect(files.sort()).to.have.length(2);
    const text = files.find((f) => f.endsWith('.txt')) as string;
    const jsonl = files.find((f) => f.endsWith('.jsonl')) as string;

    const textLines = (await readFile(join(dir, 'transcripts', text), 'utf8')).split('\n');
    expect(textLines.pop(), 'the file ends with a complete line').to.equal('');
    const bySide = { me: [] as string[], them: [] as string[] };
    for (const line of textLines) {
      const match = TEXT_LINE.exec(line);
      expect(match, line).to.not.equal(null);
      bySide[match?.[1] as 'me' | 'them'].push(match?.[2] as string);
    }
    expect(bySide.me).to.deep.equal(Array(ROUNDS).fill(SAYS.me));
    expect(bySide.them).to.deep.equal(Array(ROUNDS).fill(SAYS.them));

    const events = (await readFile(join(dir, 'transcripts', jsonl), 'utf8')).trimEnd().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(events).to.have.length(2 * ROUNDS);
    for (const event of events) expect(event.label).to.equal(event.pipeline);
    expect(events.filter((e) => e.pipeline === 'me').map((e) => e.text)).to.deep.equal(Array(ROUNDS).fill(SAYS.me));

    // The console shows the same conversation, labelled.
    const shown = earshot.stdout.trimEnd().split('\n');
    expect(shown.filter((l) => l === `me: ${SAYS.me}`)).to.have.length(ROUNDS);
    expect(shown.filter((l) => l === `them: ${SAYS.them}`)).to.have.length(ROUNDS);
  });
});

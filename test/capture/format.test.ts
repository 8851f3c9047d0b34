import { expect } from 'chai';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FileSourceConfig } from '../../src/config/schema.js';
import { CaptureHarness, DirectCapture, eventsOfKind, portAudioSource } from '../support/capture-harness.js';
import { PrivatePulse } from '../support/pulse.js';
import { peakFrequency, rms, sine } from '../support/signal.js';
import { interleave, writeWav } from '../support/wav.js';

const TONE = 0.25;

/**
 * Devices and files that do not offer the pipeline's 16 kHz mono: opened in
 * their own format and converted by earshot.
 */
describe('capture format conversion', function () {
  this.timeout(40000);
  let pulse: PrivatePulse;
  let dir: string;
  let tones: string;
  let harness: CaptureHarness | undefined;
  let direct: DirectCapture | undefined;

  before(async () => {
    pulse = await PrivatePulse.start([{ name: 'sink48', rate: 48000, channels: 2 }]);
    pulse.adopt();
    dir = await mkdtemp(join(tmpdir(), 'earshot-format-'));
    // 48 kHz stereo, both channels: 1.5 s of a 1 kHz tone, 1.5 s of a 12 kHz tone at the same level,
    // and 0.5 s of 1 kHz again (it shows where the 12 kHz part ended). Sampled down to 16 kHz without
    // a proper filter, the 12 kHz tone would fold to 4 kHz at full level.
    const channel = new Float32Array(168000);
    channel.set(sine(48000, 1000, 1.5, TONE));
    channel.set(sine(48000, 12000, 1.5, TONE), 72000);
    channel.set(sine(48000, 1000, 0.5, TONE), 144000);
    tones = join(dir, 'tones-48k-stereo.wav');
    await writeWav(tones, interleave(channel, channel), 48000, 2);
  });
  afterEach(async () => {
    await harness?.abandon();
    harness = undefined;
    await direct?.stop().catch(() => undefined);
    direct = undefined;
  });
  after(async () => {
    await pulse.stop();
    await rm(dir, { recursive: true, force: true });
  });

  /** The steady second of each tone in a capture of `tones` (found by the 1 kHz tone's onset), as floats. */
  function toneSegments(samples: Int16Array): { low: Float32Array; high: Float32Array } {
    const level = (at: number): number => rms(samples.subarray(at, at + 160));
    let start = 0;
    while (start + 160 <= samples.length && level(start) < (TONE / Math.SQRT2) * 16384) start += 160;
    const seconds = (from: number, length = 1): Float32Array =>
      Float32Array.from(samples.subarray(start + from * 16000, start + (from + length) * 16000), (v) => v / 32768);
    expect(20 * Math.log10(rms(seconds(3.1, 0.3)) / (TONE / Math.SQRT2)), 'the closing 1 kHz part is where it belongs').to.be.closeTo(0, 0.5);
    return { low: seconds(0.25), high: seconds(1.75) };
  }

  /** 1 kHz comes out at 1 kHz and at its level; 12 kHz comes out attenuated by how much (dB). */
  function checkTones(samples: Int16Array): number {
    const { low, high } = toneSegments(samples);
    expect(low.length).to.equal(16000);
    expect(peakFrequency(low, 16000)).to.be.closeTo(1000, 1);
    expect(20 * Math.log10(rms(low) / (TONE / Math.SQRT2)), '1 kHz level, dB').to.be.closeTo(0, 0.5);
    const residue = rms(high);
    const attenuationDb = residue === 0 ? -Infinity : 20 * Math.log10(residue / (TONE / Math.SQRT2));
    // A residue rounded to 0 in every sample is under half an LSB: more than 81 dB down.
    console.log(`      12 kHz tone after conversion: ${residue === 0 ? 'every sample 0 (more than 81 dB down)' : `${attenuationDb.toFixed(1)} dB`}`);
    return attenuationDb;
  }

  it('a 48 kHz stereo monitor opened natively comes out as 16 kHz mono: 1 kHz stays 1 kHz, 12 kHz does not fold to 4 kHz', async () => {
    harness = await CaptureHarness.start(portAudioSource({ device: 'sink48.monitor', open_format: 'native' }));
    expect(harness.info).to.deep.include({ openedSampleRate: 48000, openedChannels: 2, sampleRate: 16000, channels: 1 });
    expect(harness.info?.conversion).to.match(/downmix 2 ch to mono, resample 48000 -> 16000 Hz/);
    await harness.waitForFrames(5, 15000);
    await pulse.play(tones, 'sink48');
    const report = await harness.stop();
    expect(eventsOfKind(harness.events, 'gap')).to.deep.equal([]);
    harness = undefined;
    // The resampler alone attenuates 12 kHz by 115 dB (resampler.test); here what is left is below
    // 16-bit resolution (measured: every sample 0, or a fraction of one LSB). 80 dB is what we require:
    // 40 dB would already vanish under speech.
    expect(checkTones(report.samples)).to.be.below(-80);
  });

  it('open_format auto: a device that refuses 16 kHz mono is opened in its native format and converted', async () => {
    direct = await DirectCapture.open(portAudioSource({ device: 'sink48.monitor', open_format: 'auto' }), { refuseSampleRates: [16000] });
    expect(direct.info).to.deep.include({ openedSampleRate: 48000, openedChannels: 2, sampleRate: 16000 });
    expect(direct.info.refused).to.deep.equal(['16000 Hz, 1 ch: Format not supported: Invalid sample rate']);
    await new Promise((r) => setTimeout(r, 2500)); // the stream goes live
    await pulse.play(tones, 'sink48');
    await new Promise((r) => setTimeout(r, 500));
    const report = await direct.stop();
    direct = undefined;
    expect(checkTones(report.samples)).to.be.below(-80);
    const seqs = report.frames.map((f) => f.seq);
    expect(seqs).to.deep.equal(Array.from({ length: seqs.length }, (_, i) => i));
  });

  it('open_format requested: a device that refuses the format is an error that names it and the way out', async () => {
    let error: unknown;
    try {
      direct = await DirectCapture.open(portAudioSource({ device: 'sink48.monitor', open_format: 'requested' }), { refuseSampleRates: [16000] });
    } catch (caught) {
      error = caught;
    }
    expect((error as Error).name).to.equal('CaptureFormatError');
    expect((error as Error).message).to.equal(
      'sink48.monitor (PulseAudio) cannot be opened with open_format: requested; it refused 16000 Hz, 1 ch: Format not supported: Invalid sample rate. ' +
        'Use open_format: auto to let earshot open its native format and convert.',
    );
  });

  it('a 44.1 kHz stereo WAV plays into a 16 kHz mono pipeline through the same conversion', async () => {
    const wav = join(dir, 'tone-44k-stereo.wav');
    const tone = sine(44100, 1000, 2, 0.5);
    await writeWav(wav, interleave(tone, tone), 44100, 2);
    const source: FileSourceConfig = { type: 'file', path: wav, realtime: false, loop: false, sample_rate: 16000, channels: 1, frame_ms: 50, ring_seconds: 10, ring_policy: 'drop_oldest' };
    harness = await CaptureHarness.start(source);
    expect(harness.info?.conversion).to.match(/downmix 2 ch to mono, resample 44100 -> 16000 Hz/);
    await harness.waitForEvent((e) => e.type === 'event' && e.kind === 'ended', 10000, 'the end of the file');
    const report = await harness.stop();
    harness = undefined;
    expect(report.samples.length, 'exactly 2 s at 16 kHz').to.equal(32000);
    expect(report.seqs).to.deep.equal(Array.from({ length: 40 }, (_, i) => i));
    const floats = Float32Array.from(report.samples, (v) => v / 32768);
    expect(peakFrequency(floats, 16000)).to.be.closeTo(1000, 1);
    // Sample m is the tone at m / 16000 s: no delay, no drift.
    let error = 0;
    for (let m = 200; m < 31800; m++) error = Math.max(error, Math.abs((floats[m] as number) - 0.5 * Math.sin((2 * Math.PI * 1000 * m) / 16000)));
    expect(error).to.be.below(2 / 32768);
  });
});

import { expect } from 'chai';
import { FrameAssembler, type CaptureGap } from '../../src/capture/frame-assembler.js';
import { FrameRing } from '../../src/capture/ring.js';

const F = 160; // 10 ms frames at 16 kHz

function ring(capacityFrames = 64, policy: 'drop_oldest' | 'drop_newest' = 'drop_oldest'): FrameRing {
  return FrameRing.create({ capacityFrames, frameSamples: F, sampleRate: 16000, policy });
}

/** Samples numbered by their position: sample i has value (i % 30000) + 1, so silence (0) is never audio. */
function ramp(from: number, count: number): Int16Array {
  return Int16Array.from({ length: count }, (_, i) => ((from + i) % 30000) + 1);
}

function drain(r: FrameRing): { seq: number; samples: number[]; captureTimeMs: number }[] {
  const into = new Int16Array(F);
  const out = [];
  for (let f = r.read(into); f; f = r.read(into)) out.push({ seq: f.seq, samples: Array.from(f.samples), captureTimeMs: f.captureTimeMs });
  return out;
}

describe('frame assembler', () => {
  it('cuts samples into numbered frames; frame seq starts at sample seq * frameSamples', () => {
    const r = ring();
    const assembler = new FrameAssembler(r);
    assembler.push(ramp(0, 100), 1000);
    assembler.push(ramp(100, 300), 1025);
    const frames = drain(r);
    expect(frames.map((f) => f.seq)).to.deep.equal([0, 1]);
    expect(frames[1]?.samples[0]).to.equal(F + 1);
    // Frame 1 ends at sample 320; the push's last sample (399) was captured at 1025 ms.
    expect(frames[1]?.captureTimeMs).to.be.closeTo(1025 - (399 - 319) / 16, 1e-9);
    expect(assembler.position).to.equal(400);
  });

  it('a gap keeps every sample at its captured position: whole frames go missing, partial ones are silent there', () => {
    const r = ring();
    const gaps: CaptureGap[] = [];
    const assembler = new FrameAssembler(r, { onGap: (g) => gaps.push(g) });
    assembler.push(ramp(0, 200), 0); // frame 0, and 40 samples of frame 1
    assembler.gap(360, 'test'); // samples 200..559 lost: frame 1 from 40 on, frame 2, frame 3 up to 79
    assembler.push(ramp(560, 200), 0); // frame 3 from 80 on, then 120 samples of frame 4
    const frames = drain(r);
    expect(frames.map((f) => f.seq)).to.deep.equal([0, 1, 3]);
    const frame1 = frames[1]?.samples ?? [];
    expect(frame1.slice(0, 40)).to.deep.equal(Array.from(ramp(160, 40)));
    expect(frame1.slice(40).every((s) => s === 0)).to.equal(true);
    const frame3 = frames[2]?.samples ?? [];
    expect(frame3.slice(0, 80).every((s) => s === 0)).to.equal(true);
    expect(frame3.slice(80)).to.deep.equal(Array.from(ramp(560, 80)));
    expect(assembler.position).to.equal(760);
    expect(gaps).to.deep.equal([{ cause: 'test', fromSeq: 1, toSeq: 3, missingFrames: 1, lostMs: 22.5 }]);
    expect(assembler.stats.samplesLost).to.equal(360);
  });

  it('a gap inside one frame leaves its numbering alone', () => {
    const r = ring();
    const gaps: CaptureGap[] = [];
    const assembler = new FrameAssembler(r, { onGap: (g) => gaps.push(g) });
    assembler.push(ramp(0, 10), 0);
    assembler.gap(20, 'short');
    assembler.push(ramp(30, 130), 0);
    const [frame] = drain(r);
    expect(frame?.seq).to.equal(0);
    expect(frame?.samples.slice(10, 30).every((s) => s === 0)).to.equal(true);
    expect(frame?.samples[30]).to.equal(31);
    expect(gaps[0]).to.include({ fromSeq: 0, toSeq: 0, missingFrames: 0 });
  });

  it('after a break, measures the gap from the capture times of the last sample and the first new one', () => {
    const r = ring();
    const gaps: CaptureGap[] = [];
    const assembler = new FrameAssembler(r, { onGap: (g) => gaps.push(g) });
    assembler.push(ramp(0, 1600), 100); // samples 0..1599, the last captured at 100 ms
    assembler.resumeAfterBreak('capture restarted');
    // The new stream's first sample was captured 2.5 s after the old stream's last one.
    assembler.push(ramp(0, 1600), 100 + 2500 + 1599 / 16);
    expect(gaps).to.have.length(1);
    expect(gaps[0]?.cause).to.equal('capture restarted');
    expect(gaps[0]?.lostMs).to.be.closeTo(2500 - 1 / 16, 0.001);
    // 1600 + 39999 lost samples: the new audio starts at sample 41599, in frame 259.
    expect(assembler.position).to.equal(1600 + 39999 + 1600);
    expect(drain(r).map((f) => f.seq).filter((s) => s >= 10)[0]).to.equal(259);
  });

  it('reports each frame the ring drops by its sequence number', () => {
    const r = ring(4, 'drop_oldest');
    const dropped: number[] = [];
    const assembler = new FrameAssembler(r, { onRingDrop: (seq) => dropped.push(seq) });
    assembler.push(ramp(0, 7 * F), 0);
    expect(dropped).to.deep.equal([0, 1, 2]);
    expect(drain(r).map((f) => f.seq)).to.deep.equal([3, 4, 5, 6]);
    const rn = ring(4, 'drop_newest');
    const droppedNewest: number[] = [];
    new FrameAssembler(rn, { onRingDrop: (seq) => droppedNewest.push(seq) }).push(ramp(0, 6 * F), 0);
    expect(droppedNewest).to.deep.equal([4, 5]);
  });

  it('a new producer on a used ring (the audio host restarted) goes on numbering and records the gap', () => {
    const r = ring();
    new FrameAssembler(r).push(ramp(0, 5 * F + 50), 1000); // frames 0..4; 50 samples pending are lost with the producer
    const lastFrameEnd = 1000 - 50 / 16;
    expect(r.producerPosition).to.deep.equal({ nextSeq: 5, lastCaptureTimeMs: lastFrameEnd });
    const gaps: CaptureGap[] = [];
    const next = new FrameAssembler(r, { onGap: (g) => gaps.push(g) });
    expect(next.seq).to.equal(5);
    next.push(ramp(0, F), lastFrameEnd + 1000 + (F - 1) / 16); // first new sample 1 s after the last frame's end
    expect(gaps[0]).to.include({ cause: 'the audio host restarted', fromSeq: 5 });
    expect(gaps[0]?.lostMs).to.be.closeTo(1000 - 1 / 16, 0.01);
    const seqs = drain(r).map((f) => f.seq);
    expect(seqs.slice(0, 5)).to.deep.equal([0, 1, 2, 3, 4]);
    expect(seqs[5]).to.equal(5 + 99); // 16000 - 1 samples lost: 99 whole frames, then the partly silent one
  });
});

import { expect } from 'chai';
import { AudioBacklog } from '../../src/transport/backlog.js';

const FRAME = 800; // 50 ms at 16 kHz

function add(backlog: AudioBacklog, seq: number, length = FRAME): void {
  const buffer = backlog.borrow();
  buffer.fill(seq % 1000, 0, length);
  backlog.append(seq, seq * 50, buffer.subarray(0, length));
}

describe('audio backlog', () => {
  it('sends frames in chunks of 50 ms to 1000 ms, never across a gap', () => {
    const backlog = new AudioBacklog(FRAME, 16000, 30, 16000);
    for (let seq = 0; seq < 30; seq++) if (seq !== 25) add(backlog, seq);
    const first = backlog.nextChunk(800, false);
    expect(first?.frames.map((f) => f.seq)).to.deep.equal(Array.from({ length: 20 }, (_, i) => i));
    expect(first?.samples.length).to.equal(16000);
    expect(first?.samples[FRAME * 3]).to.equal(3);
    if (first) backlog.markSent(first);
    const second = backlog.nextChunk(800, false);
    expect(second?.frames.map((f) => f.seq), 'stops before the gap').to.deep.equal([20, 21, 22, 23, 24]);
    if (second) backlog.markSent(second);
    const third = backlog.nextChunk(800, false);
    expect(third?.startSample, 'resumes at the frame after the gap').to.equal(26 * FRAME);
  });

  it('holds back less than the minimum chunk unless flushing', () => {
    const backlog = new AudioBacklog(160, 16000, 30, 16000); // 10 ms frames
    add(backlog, 0, 160);
    add(backlog, 1, 160);
    expect(backlog.nextChunk(800, false)).to.equal(undefined);
    expect(backlog.nextChunk(800, true)?.samples.length).to.equal(320);
  });

  it('keeps sent frames until committed and replays them after a rewind', () => {
    const backlog = new AudioBacklog(FRAME, 16000, 30, 16000);
    for (let seq = 0; seq < 10; seq++) add(backlog, seq);
    const chunk = backlog.nextChunk(800, false);
    if (chunk) backlog.markSent(chunk);
    expect(backlog.unsentFrames).to.equal(0);
    backlog.commit(4 * FRAME); // frames 0-3 are covered by the transcript
    expect(backlog.size).to.equal(6);
    backlog.rewind(6 * FRAME); // a new session: replay from frame 6
    expect(backlog.nextChunk(800, false)?.frames.map((f) => f.seq)).to.deep.equal([6, 7, 8, 9]);
  });

  it('drops the oldest frames past its bound and tells unsent from unconfirmed losses', () => {
    const backlog = new AudioBacklog(FRAME, 16000, 1, 16000); // 1 s = 20 frames
    for (let seq = 0; seq < 10; seq++) add(backlog, seq);
    const chunk = backlog.nextChunk(800, false);
    if (chunk) backlog.markSent(chunk); // 10 sent, unconfirmed
    for (let seq = 10; seq < 35; seq++) add(backlog, seq); // 25 more: 15 too many
    expect(backlog.size).to.equal(20);
    expect(backlog.stats.droppedUnconfirmed).to.equal(10);
    expect(backlog.stats.droppedUnsent).to.equal(5);
    expect(backlog.nextChunk(800, false)?.frames[0]?.seq).to.equal(15);
  });

  it('reuses frame buffers instead of allocating one per frame', () => {
    const backlog = new AudioBacklog(FRAME, 16000, 30, 16000);
    const seen = new Set<Int16Array>();
    for (let seq = 0; seq < 100; seq++) {
      const buffer = backlog.borrow();
      seen.add(buffer);
      backlog.append(seq, 0, buffer);
      const chunk = backlog.nextChunk(800, false);
      if (chunk) backlog.markSent(chunk);
      backlog.commit((seq + 1) * FRAME);
    }
    expect(seen.size).to.be.at.most(2);
  });
});

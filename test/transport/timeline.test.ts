import { expect } from 'chai';
import { SessionTimeline } from '../../src/transport/timeline.js';

describe('session timeline', () => {
  it('maps session time onto the pipeline clock across replays, gaps and padding', () => {
    const t = new SessionTimeline();
    t.recordSent(12000, 1000); // session 0-1000 = pipeline 12000-13000 (a reconnect replayed from 12 s)
    t.recordSent(13000, 500); // contiguous: same segment
    t.recordSent(14000, 500); // 500 ms lost before this frame: new segment at session 1500
    t.recordPadding(30); // silence we added
    t.recordSent(14500, 100);
    expect(t.toPipelineMs(0)).to.equal(12000);
    expect(t.toPipelineMs(1200)).to.equal(13200);
    expect(t.toPipelineMs(1600)).to.equal(14100);
    expect(t.toPipelineMs(2010), 'inside padding: end of the audio before it').to.equal(14500);
    expect(t.toPipelineMs(2050)).to.equal(14520);
    expect(t.pipelineEndMs).to.equal(14600);
    expect(t.sentMs).to.equal(2130);
  });
});

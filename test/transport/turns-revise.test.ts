/**
 * TurnTracker.revise: the service's SpeakerRevision matched to the seq each
 * revised turn was delivered under, across reconnects (revisions name turns
 * of the session that sends them), with word times on the pipeline clock and
 * labels named by the speakers map.
 */
import { expect } from 'chai';
import type { SpeakerRevisionMessage, TurnMessage } from '../../src/transport/protocol.js';
import { SessionTimeline } from '../../src/transport/timeline.js';
import { TurnTracker } from '../../src/transport/turns.js';

function final(order: number, speaker: string, words: [string, number, number][]): TurnMessage {
  return {
    type: 'Turn',
    turn_order: order,
    turn_is_formatted: false,
    end_of_turn: true,
    transcript: words.map((w) => w[0]).join(' '),
    end_of_turn_confidence: 0.9,
    speaker_label: speaker,
    words: words.map(([text, start, end]) => ({ text, start, end, confidence: 0.9, word_is_final: true, speaker })),
  };
}

function revision(...items: [number, string, [string, number, number][]][]): SpeakerRevisionMessage {
  return {
    type: 'SpeakerRevision',
    revisions: items.map(([turn_order, speaker, words]) => ({
      turn_order,
      speaker_label: speaker,
      words: words.map(([text, start, end]) => ({ text, start, end, confidence: 0.9, word_is_final: true, speaker })),
    })),
  };
}

describe('turn tracker: speaker revisions', () => {
  const names = { A: 'Alice', B: 'Bob' };

  it('names the speakers of turns and words, keeping the label of a renamed one, and passes UNKNOWN through', () => {
    const tracker = new TurnTracker('p', 'them', names);
    const timeline = new SessionTimeline();
    timeline.recordSent(0, 10000);
    const alice = tracker.accept(final(0, 'A', [['hi', 100, 300]]), 's1', timeline, false).event;
    const unknown = tracker.accept(final(1, 'UNKNOWN', [['who', 500, 700]]), 's1', timeline, false).event;
    const carol = tracker.accept(final(2, 'C', [['me', 900, 1000]]), 's1', timeline, false).event;
    expect(alice).to.deep.include({ speaker: 'Alice', speaker_label: 'A' });
    expect(alice?.words[0]?.speaker).to.equal('Alice');
    expect(unknown?.speaker).to.equal('UNKNOWN');
    expect(unknown).to.not.have.property('speaker_label');
    expect(carol).to.deep.include({ speaker: 'C' });
    expect(carol).to.not.have.property('speaker_label');
  });

  it('maps each revised turn to the seq its final was delivered under, its words on the pipeline clock', () => {
    const tracker = new TurnTracker('p', 'them', names);
    const timeline = new SessionTimeline();
    timeline.recordSent(0, 10000);
    tracker.accept({ ...final(0, 'A', [['hel', 100, 300]]), end_of_turn: false }, 's1', timeline, false); // seq 0: a partial
    const first = tracker.accept(final(0, 'A', [['hello', 100, 400]]), 's1', timeline, false).event; // seq 1
    const second = tracker.accept(final(1, 'UNKNOWN', [['there', 600, 900]]), 's1', timeline, false).event; // seq 2
    const { event, skipped } = tracker.revise(revision([1, 'B', [['there', 600, 900]]], [0, 'B', [['hello', 100, 400]]]), 's1', timeline);
    expect(skipped).to.deep.equal([]);
    expect(event).to.deep.include({ type: 'speaker_revision', pipeline: 'p', label: 'them', session_id: 's1' });
    expect(event?.revisions).to.deep.equal([
      { turn_order: 1, seq: second?.seq, speaker: 'Bob', speaker_label: 'B', words: [{ text: 'there', start_ms: 600, end_ms: 900, confidence: 0.9, speaker: 'Bob' }] },
      { turn_order: 0, seq: first?.seq, speaker: 'Bob', speaker_label: 'B', words: [{ text: 'hello', start_ms: 100, end_ms: 400, confidence: 0.9, speaker: 'Bob' }] },
    ]);
    expect([first?.seq, second?.seq]).to.deep.equal([1, 2]);
  });

  it('across a reconnect: turn_order 0 of each session is its own turn, and a late revision of the old session maps to the old seq', () => {
    const tracker = new TurnTracker('p', undefined);
    const first = new SessionTimeline();
    first.recordSent(0, 5000);
    const old = tracker.accept(final(0, 'A', [['one', 1000, 1500]]), 's1', first, false).event;
    // The connection dropped; the next session starts at 5 s of pipeline audio.
    const second = new SessionTimeline();
    second.recordSent(5000, 10000);
    const fresh = tracker.accept(final(0, 'B', [['two', 200, 600]]), 's2', second, false).event;

    const current = tracker.revise(revision([0, 'A', [['two', 200, 600]]]), 's2', second);
    expect(current.event?.revisions.map((r) => [r.seq, r.speaker, r.words[0]?.start_ms])).to.deep.equal([[fresh?.seq, 'A', 5200]]);
    // A revision the old session sent before it closed (its end-of-stream one) names its own turns.
    const late = tracker.revise(revision([0, 'B', [['one', 1000, 1500]]]), 's1', first);
    expect(late.event?.session_id).to.equal('s1');
    expect(late.event?.revisions.map((r) => [r.seq, r.speaker, r.words[0]?.start_ms])).to.deep.equal([[old?.seq, 'B', 1000]]);
  });

  it('skips, and says why, turns never delivered: a replay recognised twice, one still open, one of no session it knows', () => {
    const tracker = new TurnTracker('p', undefined);
    const first = new SessionTimeline();
    first.recordSent(0, 5000);
    tracker.accept(final(0, 'A', [['one', 1000, 1500], ['two', 1600, 2000]]), 's1', first, false);
    const second = new SessionTimeline();
    second.recordSent(1700, 10000);
    // The replayed tail of s1's turn comes back as s2's turn 0: not delivered again.
    expect(tracker.accept(final(0, 'A', [['two', 0, 300]]), 's2', second, false).event).to.equal(undefined);
    const delivered = tracker.accept(final(1, 'B', [['three', 1300, 1800]]), 's2', second, false).event;
    tracker.accept({ ...final(2, 'B', [['fo', 2000, 2100]]), end_of_turn: false }, 's2', second, false);

    const outcome = tracker.revise(revision([0, 'B', [['two', 0, 300]]], [1, 'A', [['three', 1300, 1800]]], [2, 'A', [['fo', 2000, 2100]]]), 's2', second);
    expect(outcome.event?.revisions.map((r) => r.seq)).to.deep.equal([delivered?.seq]);
    expect(outcome.skipped).to.deep.equal([
      { turn_order: 0, reason: 'not_delivered' },
      { turn_order: 2, reason: 'not_delivered' },
    ]);
    const stranger = tracker.revise(revision([0, 'A', []]), 's9', second);
    expect(stranger).to.deep.equal({ skipped: [{ turn_order: 0, reason: 'not_delivered' }] });
  });

  it('remembers a bounded number of finals: a revision of a forgotten one is skipped as forgotten', () => {
    const tracker = new TurnTracker('p', undefined, undefined, 3);
    const timeline = new SessionTimeline();
    timeline.recordSent(0, 100000);
    for (let order = 0; order < 5; order++) tracker.accept(final(order, 'A', [[`w${order}`, order * 1000, order * 1000 + 500]]), 's1', timeline, false);
    const outcome = tracker.revise(revision([0, 'B', []], [1, 'B', []], [4, 'B', []]), 's1', timeline);
    expect(outcome.skipped).to.deep.equal([
      { turn_order: 0, reason: 'forgotten' },
      { turn_order: 1, reason: 'forgotten' },
    ]);
    expect(outcome.event?.revisions.map((r) => [r.turn_order, r.seq])).to.deep.equal([[4, 4]]);
  });
});

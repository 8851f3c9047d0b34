import { expect } from 'chai';
import type { TurnMessage } from '../../src/transport/protocol.js';
import { SessionTimeline } from '../../src/transport/timeline.js';
import { TurnTracker } from '../../src/transport/turns.js';

function turn(order: number, words: [string, number, number][], endOfTurn: boolean, formatted = false, transcript?: string): TurnMessage {
  return {
    type: 'Turn',
    turn_order: order,
    turn_is_formatted: formatted,
    end_of_turn: endOfTurn,
    transcript: transcript ?? words.map((w) => w[0]).join(' '),
    end_of_turn_confidence: 0.9,
    words: words.map(([text, start, end]) => ({ text, start, end, confidence: 0.9, word_is_final: true })),
  };
}

describe('turn tracker', () => {
  it('delivers one final per turn: the formatted one when formatting is on', () => {
    const tracker = new TurnTracker('p', 'them');
    const timeline = new SessionTimeline();
    timeline.recordSent(0, 10000);
    const partial = tracker.accept(turn(0, [['hello', 100, 400]], false), 's1', timeline, true);
    const unformatted = tracker.accept(turn(0, [['hello', 100, 400], ['world', 450, 800]], true), 's1', timeline, true);
    const formatted = tracker.accept(turn(0, [['hello', 100, 400], ['world', 450, 800]], true, true, 'Hello, world.'), 's1', timeline, true);
    expect(partial.event?.final).to.equal(false);
    expect(partial.openTurnStartMs).to.equal(100);
    expect(unformatted.event?.final, 'the unformatted end of turn is not the final when formatting is on').to.equal(false);
    expect(formatted.event).to.deep.include({ final: true, formatted: true, text: 'Hello, world.', start_ms: 100, end_ms: 800, label: 'them' });
    expect(formatted.committedToMs).to.equal(800);
    expect([partial, unformatted, formatted].map((o) => o.event?.seq)).to.deep.equal([0, 1, 2]);
  });

  it('puts a later session on the pipeline clock and drops a final recognised twice after a replay', () => {
    const tracker = new TurnTracker('p', undefined);
    const first = new SessionTimeline();
    first.recordSent(0, 5000);
    const a = tracker.accept(turn(0, [['one', 1000, 1500], ['two', 1600, 2000]], true), 's1', first, false);
    expect(a.event?.end_ms).to.equal(2000);
    // The connection dropped; the next session was replayed audio from 1.7 s on.
    const second = new SessionTimeline();
    second.recordSent(1700, 10000);
    const again = tracker.accept(turn(0, [['two', 0, 300]], true), 's2', second, false);
    expect(again.event, 'the tail of a delivered turn is not delivered again').to.equal(undefined);
    const next = tracker.accept(turn(1, [['three', 1300, 1800]], true), 's2', second, false);
    expect(next.event).to.deep.include({ session_id: 's2', start_ms: 3000, end_ms: 3500, seq: 1 });
    expect(next.event?.words[0]).to.deep.include({ start_ms: 3000, end_ms: 3500 });
  });
});

/**
 * deadline(): a bound that holds in a process that collects garbage, where
 * an AbortSignal.timeout() held only by AbortSignal.any() may never fire.
 */
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { deadline } from '../../src/pipeline/deadline.js';

const run = promisify(execFile);
const moduleUrl = new URL('../../src/pipeline/deadline.js', import.meta.url).href;

describe('deadline', () => {
  it('aborts its signal, combined with others, after the time even while garbage is collected', async function () {
    this.timeout(15000);
    const script = `
      const { deadline } = await import(${JSON.stringify(moduleUrl)});
      const started = Date.now();
      const bound = deadline(300);
      const combined = AbortSignal.any([bound.signal, new AbortController().signal]);
      const pressure = setInterval(() => globalThis.gc(), 20);
      let giveUp;
      const fired = await new Promise((resolve) => {
        combined.addEventListener('abort', () => resolve(true), { once: true });
        giveUp = setTimeout(() => resolve(false), 3000);
      });
      clearTimeout(giveUp);
      clearInterval(pressure);
      console.log(JSON.stringify({ fired, reason: combined.reason.name, afterMs: Date.now() - started }));
    `;
    const { stdout } = await run(process.execPath, ['--expose-gc', '--input-type=module', '-e', script], { timeout: 10000 });
    const result = JSON.parse(stdout) as { fired: boolean; reason: string; afterMs: number };
    expect(result.fired).to.equal(true);
    expect(result.reason).to.equal('TimeoutError');
    expect(result.afterMs).to.be.below(3000);
  });

  it('does not abort once cleared', async () => {
    const bound = deadline(50);
    bound.clear();
    await new Promise((resolve) => setTimeout(resolve, 120));
    expect(bound.signal.aborted).to.equal(false);
  });
});

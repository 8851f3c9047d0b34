/**
 * GET /captions as a viewer sees it: headless Chromium opens the page
 * against the real `earshot run` (a pipeline labelled `me` playing a looping
 * tone-coded file at real-time pace into `earshot serve --engine script`),
 * and the page's own DOM is watched as captions come and go: the finals in
 * the scripted order, only `lines` of them kept, a partial shown and then
 * replaced by its final, labels when asked, untrusted text shown as text
 * (a scripted `<img onerror>` creates no element and runs nothing), a
 * transparent background by default, and the style parameters applied.
 * Needs Debian's `chromium` (/usr/bin/chromium).
 */
import { expect } from 'chai';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { createScriptEngine, parseScript } from '../../src/serve/engines/script.js';
import { startStreamingServer, type StreamingServer } from '../../src/serve/server.js';
import { buildToneAudio } from '../support/tone-audio.js';
import { writeWav } from '../support/wav.js';
import { EarshotProcess, fetchText } from './harness.js';

const CHROMIUM = '/usr/bin/chromium';
const API_KEY = 'captions-page-key-0123456789';
const HOSTILE = '<img src=x onerror="window.pwned=1"> hello';
const TEXTS = ['First line here.', 'Second line now.', HOSTILE, 'Fourth and last.'];
const SCRIPT = parseScript(`
turns:
${TEXTS.map((text, i) => `  - { text: ${JSON.stringify(text)}, tone_hz: ${500 + i * 200} }`).join('\n')}
`);

interface Snapshot {
  finals: { text: string; label: string | null }[];
  partials: string[];
}

/**
 * Runs in the page (a string: this project compiles without the DOM types):
 * records what the captions show after every change.
 */
const WATCH = `
  window.snapshots = [];
  const root = document.getElementById('captions');
  const take = () => window.snapshots.push({
    finals: [...root.querySelectorAll('.final')].map((e) => ({ text: e.querySelector('.text')?.textContent ?? '', label: e.querySelector('.label')?.textContent ?? null })),
    partials: [...root.querySelectorAll('.partial')].map((e) => e.querySelector('.text')?.textContent ?? ''),
  });
  new MutationObserver(take).observe(root, { childList: true, subtree: true, characterData: true });
`;

const words = (text: string) => text.toLowerCase().replace(/[^a-z0-9 ]/g, '').split(/\s+/).filter(Boolean);

/** The distinct finals in the order they appeared. */
function finalsInOrder(snapshots: Snapshot[]): string[] {
  const order: string[] = [];
  let previous: string[] = [];
  for (const snapshot of snapshots) {
    const now = snapshot.finals.map((f) => f.text);
    const added = now.at(-1);
    if (added !== undefined && added !== previous.at(-1)) order.push(added);
    previous = now;
  }
  return order;
}

describe('GET /captions in a browser', function () {
  this.timeout(60000);
  let dir: string;
  let server: StreamingServer;
  let earshot: EarshotProcess;
  let url: string;
  let browser: Browser;

  before(async function () {
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: these tests need the Debian package chromium (apt-get install chromium)`);
    dir = await mkdtemp(join(tmpdir(), 'earshot-captions-'));
    server = await startStreamingServer({ engine: createScriptEngine(SCRIPT), apiKeys: [API_KEY], closeTimeoutMs: 1000 });
    const audio = buildToneAudio(SCRIPT, { gapMs: 900, leadInMs: 1500 });
    await writeWav(join(dir, 'lines.wav'), audio.samples, audio.sampleRate, 1);
    await writeFile(join(dir, 'pipeline.yaml'), `version: 1
service: { http: { port: 0 }, log: { format: json }, shutdown_timeout_ms: 3000 }
pipelines:
  mic:
    label: me
    source: { type: file, path: lines.wav, loop: true }
    transcriber: { type: assemblyai, api_key: \${EARSHOT_TEST_KEY}, url: "ws://127.0.0.1:${server.port}/v3/ws", params: { format_turns: true } }
    sinks:
      - { type: file, path: mic.jsonl, format: jsonl }
`);
    [browser] = await Promise.all([
      chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] }),
      (async () => {
        earshot = EarshotProcess.run('pipeline.yaml', { cwd: dir, env: { EARSHOT_TEST_KEY: API_KEY } });
        url = await earshot.httpUrl();
      })(),
    ]);
  });

  after(async () => {
    await browser?.close();
    earshot?.kill();
    await server?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  async function open(query: string): Promise<Page> {
    // The page's CSP would block the test's own probes; bypassing it also shows the text is safe without it.
    const page = await browser.newPage({ bypassCSP: true });
    await page.goto(`${url}/captions${query}`);
    await page.evaluate(WATCH);
    return page;
  }

  const snapshots = (page: Page) => page.evaluate<Snapshot[]>('window.snapshots');

  it('shows the finals in order, keeps the last `lines`, rewrites a partial until its final replaces it, with labels', async () => {
    const page = await open('?lines=2&labels=1');
    try {
      // Every scripted line at least once, whatever line the loop was at.
      await page.waitForFunction(`new Set(window.snapshots.flatMap((s) => s.finals.map((f) => f.text))).size >= ${TEXTS.length}`, undefined, { timeout: 30000 });
      const seen = await snapshots(page);
      const order = finalsInOrder(seen);
      const start = TEXTS.indexOf(order[0] as string);
      expect(start, `"${order[0]}" is a scripted line`).to.be.at.least(0);
      expect(order).to.deep.equal(order.map((_, i) => TEXTS[(start + i) % TEXTS.length]));

      expect(Math.max(...seen.map((s) => s.finals.length)), 'never more than 2 lines').to.equal(2);
      expect(seen.flatMap((s) => s.finals.map((f) => f.label))).to.satisfy((labels: (string | null)[]) => labels.every((l) => l === 'me:'));

      // A partial grew in place, then its final took its place and the partial line went away.
      const partialOf = (text: string) => seen.findIndex((s) => s.partials.length === 1 && words(text).join(' ').startsWith(words(s.partials[0] ?? '-').join(' ')));
      const finalOf = (text: string, after: number) => seen.findIndex((s, i) => i > after && s.finals.at(-1)?.text === text);
      const line = order[1] as string;
      const shownAt = partialOf(line);
      expect(shownAt, `a partial of "${line}"`).to.be.at.least(0);
      const finalAt = finalOf(line, shownAt);
      expect(finalAt).to.be.greaterThan(shownAt);
      expect(seen[finalAt]?.partials, 'the partial is gone once its final is shown').to.deep.equal([]);
      expect(new Set(seen.slice(shownAt, finalAt).map((s) => s.partials[0])).size, 'the partial was rewritten as it grew').to.be.greaterThan(1);

      // The hostile line is text on screen, not markup.
      const hostile = seen.flatMap((s) => s.finals).find((f) => f.text === HOSTILE);
      expect(hostile, 'the <img> line shown literally').to.not.equal(undefined);
      expect(await page.locator('#captions img').count()).to.equal(0);
      expect(await page.evaluate('window.pwned')).to.equal(undefined);

      const served = await fetch(`${url}/captions`);
      expect(served.headers.get('content-security-policy')).to.match(/default-src 'none'.*connect-src 'self'/);

      const backgrounds = await page.evaluate('[getComputedStyle(document.documentElement).backgroundColor, getComputedStyle(document.body).backgroundColor]');
      expect(backgrounds).to.deep.equal(['rgba(0, 0, 0, 0)', 'rgba(0, 0, 0, 0)']);
    } finally {
      await page.close();
    }
  });

  it('shows no labels unless asked, and applies font_size, color and bg', async () => {
    const page = await open('?font_size=20&color=yellow&bg=%23102030&lines=1');
    try {
      await page.waitForFunction("document.querySelectorAll('#captions .final').length === 1", undefined, { timeout: 20000 });
      expect(await page.locator('#captions .label').count()).to.equal(0);
      const style = await page.evaluate('({ color: getComputedStyle(document.body).color, fontSize: getComputedStyle(document.body).fontSize, background: getComputedStyle(document.body).backgroundColor })');
      expect(style).to.deep.equal({ color: 'rgb(255, 255, 0)', fontSize: '20px', background: 'rgb(16, 32, 48)' });
    } finally {
      await page.close();
    }
  });

  it('answers bad parameters with 400 naming the parameter and what is valid', async () => {
    const cases: [string, RegExp][] = [
      ['font_size=big', /font_size: "big" is not valid; use a whole number from 8 to 300/],
      ['lines=0', /lines: "0" is not valid; use a whole number from 1 to 20/],
      ['color=red;background:url(x)', /color: .* is not a colour; use a CSS colour name/],
      ['bg=%3C%2Fstyle%3E', /bg: "<\/style>" is not a colour/],
      ['labels=maybe', /labels: "maybe" is not valid; use 1/],
      ['fontsize=20', /unknown parameter "fontsize": \/captions takes .*font_size/],
    ];
    for (const [query, message] of cases) {
      const answer = await fetchText(`${url}/captions?${query}`);
      expect(answer.status, query).to.equal(400);
      expect(answer.text, query).to.match(message);
    }
  });
});

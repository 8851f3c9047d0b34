/**
 * The PulseAudio/PipeWire default source, and a watch on it. A capture with
 * no `device:` opens PortAudio's default input without naming a source, so
 * the server (PulseAudio 15+, PipeWire) moves it itself when the user picks
 * another default; this watch tells the capture it happened, so the switch is
 * logged and the audio lost while the stream moves is measured as a gap.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);
const PACTL_TIMEOUT_MS = 5000;
/** A `pactl subscribe` that ended (the server restarted) is started again after this long. */
const RESUBSCRIBE_MS = 1000;

/** The server's default source, or undefined without a server (or with none set). */
export async function getDefaultPulseSource(): Promise<string | undefined> {
  try {
    const { stdout } = await execFileAsync('pactl', ['get-default-source'], { timeout: PACTL_TIMEOUT_MS });
    const name = stdout.trim();
    return name === '' || name === '(null)' ? undefined : name;
  } catch {
    return undefined;
  }
}

export type DefaultSourceChange = (from: string | undefined, to: string) => void;

/**
 * Runs `pactl subscribe` and reports every change of the default source
 * (a `change` event on the server, then `pactl get-default-source`).
 */
export class DefaultSourceWatcher {
  private child: ChildProcess | undefined;
  private closed = false;
  private checking: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;

  private constructor(
    private current: string | undefined,
    private readonly onChange: DefaultSourceChange,
  ) {}

  /** Starts watching from the current default (undefined when there is no server: nothing to follow then). */
  static async start(onChange: DefaultSourceChange): Promise<DefaultSourceWatcher | undefined> {
    const current = await getDefaultPulseSource();
    if (current === undefined) return undefined;
    const watcher = new DefaultSourceWatcher(current, onChange);
    watcher.subscribe();
    return watcher;
  }

  get source(): string | undefined {
    return this.current;
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    this.child?.kill();
    this.child = undefined;
  }

  private subscribe(): void {
    const child = spawn('pactl', ['subscribe'], { stdio: ['ignore', 'pipe', 'ignore'] });
    this.child = child;
    child.on('error', () => undefined); // reported as an exit below
    createInterface({ input: child.stdout }).on('line', (line) => {
      if (/^Event 'change' on server/.test(line)) this.check();
    });
    child.on('close', () => {
      if (this.closed || this.child !== child) return;
      // The server went away (or restarted): subscribe again, and check what changed meanwhile.
      this.timer = setTimeout(() => {
        if (this.closed) return;
        this.subscribe();
        this.check();
      }, RESUBSCRIBE_MS);
    });
  }

  /** Checks are chained so two quick changes are reported in order, each once. */
  private check(): void {
    this.checking = this.checking.then(async () => {
      const now = await getDefaultPulseSource();
      if (this.closed || now === undefined || now === this.current) return;
      const from = this.current;
      this.current = now;
      this.onChange(from, now);
    });
  }
}

/**
 * Puts the stream tagged `tag` (InputStreamOptions.pulseTag) back on `source`
 * if the server moved it elsewhere; returns the source it was moved from, or
 * undefined when it was where it belongs (or cannot be found).
 */
export async function keepStreamOnSource(tag: string, source: string): Promise<string | undefined> {
  try {
    const [outputs, sources] = await Promise.all([
      execFileAsync('pactl', ['--format=json', 'list', 'source-outputs'], { timeout: PACTL_TIMEOUT_MS }),
      execFileAsync('pactl', ['--format=json', 'list', 'short', 'sources'], { timeout: PACTL_TIMEOUT_MS }),
    ]);
    const output = (JSON.parse(outputs.stdout) as { index: number; source: number; properties?: Record<string, string> }[]).find(
      (o) => o.properties?.['earshot.capture'] === tag,
    );
    if (!output) return undefined;
    const current = (JSON.parse(sources.stdout) as { index: number; name: string }[]).find((s) => s.index === output.source)?.name;
    if (current === source) return undefined;
    await execFileAsync('pactl', ['move-source-output', String(output.index), source], { timeout: PACTL_TIMEOUT_MS });
    return current ?? `source #${output.source}`;
  } catch {
    return undefined;
  }
}

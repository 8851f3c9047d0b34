/**
 * A private PulseAudio daemon for a test: null sinks (our BlackHole) whose
 * monitors are capture devices, in a runtime directory of its own, so tests
 * never touch (or need) a real sound setup. Recipe: shared/linux-audio.md.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface NullSinkSpec {
  name: string;
  rate?: number;
  channels?: number;
}

export class PrivatePulse {
  private adopted: Record<string, string | undefined> | undefined;

  private constructor(
    readonly runtimeDir: string,
    readonly sinks: NullSinkSpec[],
    /** PulseAudio's resampler (`pulseaudio --dump-resample-methods`); its default is speex-float-1. */
    readonly resampleMethod?: string,
  ) {}

  /** Environment for processes (and this process's native code) that should use this daemon. */
  get env(): Record<string, string> {
    return { XDG_RUNTIME_DIR: this.runtimeDir, PULSE_SERVER: `unix:${join(this.runtimeDir, 'pulse', 'native')}` };
  }

  static async start(sinks: NullSinkSpec[] = [{ name: 'earshot_test' }], options: { resampleMethod?: string } = {}): Promise<PrivatePulse> {
    const runtimeDir = await mkdtemp(join(tmpdir(), 'earshot-pulse-'));
    const pulse = new PrivatePulse(runtimeDir, sinks, options.resampleMethod);
    await pulse.launch();
    return pulse;
  }

  /** Uses this daemon from the current process too (PortAudio's ALSA plugin reads the environment). */
  adopt(): void {
    this.adopted ??= Object.fromEntries(Object.keys(this.env).map((key) => [key, process.env[key]]));
    Object.assign(process.env, this.env);
  }

  async launch(): Promise<void> {
    const script = [
      ...this.sinks.map(
        (s) =>
          `load-module module-null-sink sink_name=${s.name}` +
          (s.rate ? ` rate=${s.rate}` : '') +
          (s.channels ? ` channels=${s.channels}` : '') +
          ` sink_properties=device.description=${s.name}`,
      ),
      'load-module module-native-protocol-unix auth-anonymous=1',
      `set-default-sink ${this.sinks[0]?.name}`,
      `set-default-source ${this.sinks[0]?.name}.monitor`,
    ].join('\n');
    const scriptFile = join(this.runtimeDir, 'earshot.pa');
    await writeFile(scriptFile, script + '\n');
    const args = ['--daemonize=yes', '--exit-idle-time=-1', '-n', '-F', scriptFile, `--log-target=file:${join(this.runtimeDir, 'pulse.log')}`];
    if (this.resampleMethod) args.push(`--resample-method=${this.resampleMethod}`);
    await run('pulseaudio', args, {
      env: { ...process.env, ...this.env },
      timeout: 15000,
    });
    for (let i = 0; i < 50; i++) {
      try {
        await this.pactl(['info']);
        return;
      } catch {
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    throw new Error(`private PulseAudio did not come up (log: ${join(this.runtimeDir, 'pulse.log')})`);
  }

  pactl(args: string[]): Promise<{ stdout: string }> {
    return run('pactl', args, { env: { ...process.env, ...this.env }, timeout: 10000 });
  }

  /** Plays a file into a sink at real-time pace; resolves when playback ends. */
  play(file: string, sink = this.sinks[0]?.name): Promise<void> {
    return new Promise((resolve, reject) => {
      const child = spawn('paplay', [`--device=${sink}`, file], { env: { ...process.env, ...this.env }, stdio: 'ignore' });
      child.on('error', reject);
      child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`paplay exited with ${code}`))));
    });
  }

  /** Stops the daemon (capture clients see their device vanish). */
  async kill(): Promise<void> {
    await this.pactl(['exit']).catch(() => undefined);
    for (let i = 0; i < 50; i++) {
      try {
        await this.pactl(['info']);
        await new Promise((r) => setTimeout(r, 100));
      } catch {
        return;
      }
    }
  }

  /** Stops the daemon, removes its directory, and gives the process back the environment it had before adopt(). */
  async stop(): Promise<void> {
    await this.kill();
    await rm(this.runtimeDir, { recursive: true, force: true });
    for (const [key, value] of Object.entries(this.adopted ?? {})) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
    this.adopted = undefined;
  }
}

/**
 * Capture devices: what PortAudio offers, plus, on Linux, every PulseAudio or
 * PipeWire source (PortAudio sees those only through its single `pulse`
 * device). Matching rules for a pipeline's `device:` and the error a user gets
 * when nothing matches live here too.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { getDefaultPulseSource } from './default-source.js';
import { listPortAudioDevices } from './portaudio.js';

const execFileAsync = promisify(execFile);

export interface CaptureDevice {
  /** PortAudio's numeric id, or `pulse:<source name>` for a PulseAudio source. */
  id: number | string;
  name: string;
  description?: string;
  hostApi: string;
  inputChannels: number;
  defaultSampleRate: number;
  /** Looks like a loopback of system audio (BlackHole, CABLE Output, a monitor source...). */
  loopback: boolean;
  /** The PulseAudio/PipeWire server's current default source (what a pipeline with no `device:` records, and follows). */
  isDefault?: boolean;
  /** For PulseAudio sources: the PortAudio device to open, with PULSE_SOURCE set to `name`. */
  via?: { portAudioId: number; pulseSource: string };
}

const LOOPBACK_HINTS = /blackhole|cable output|vb-audio|loopback|\.monitor$|monitor of|stereo mix|soundflower|what u hear|wave out mix/i;

export function looksLikeLoopback(name: string, description = ''): boolean {
  return LOOPBACK_HINTS.test(name) || LOOPBACK_HINTS.test(description);
}

/** Lists input devices. Call only from the audio host thread (PortAudio). */
export async function listCaptureDevices(): Promise<CaptureDevice[]> {
  const devices: CaptureDevice[] = (await listPortAudioDevices())
    .filter((d) => d.maxInputChannels > 0)
    .map((d) => ({
      id: d.id,
      name: d.name,
      hostApi: d.hostAPIName,
      inputChannels: d.maxInputChannels,
      defaultSampleRate: d.defaultSampleRate,
      loopback: looksLikeLoopback(d.name),
    }));
  const pulseDevice = devices.find((d) => d.name === 'pulse') ?? devices.find((d) => d.name === 'default');
  if (pulseDevice) {
    const [sources, defaultSource] = await Promise.all([listPulseSources(), getDefaultPulseSource()]);
    for (const source of sources) {
      devices.push({
        id: `pulse:${source.name}`,
        name: source.name,
        description: source.description,
        hostApi: 'PulseAudio',
        inputChannels: source.channels,
        defaultSampleRate: source.rate,
        loopback: looksLikeLoopback(source.name, source.description),
        ...(source.name === defaultSource ? { isDefault: true } : {}),
        via: { portAudioId: pulseDevice.id as number, pulseSource: source.name },
      });
    }
  }
  return devices;
}

interface PulseSource {
  name: string;
  description: string;
  rate: number;
  channels: number;
}

/** PulseAudio/PipeWire sources via pactl; none when pactl or the server is absent. */
export async function listPulseSources(): Promise<PulseSource[]> {
  try {
    const { stdout } = await execFileAsync('pactl', ['--format=json', 'list', 'sources'], { timeout: 5000 });
    const sources = JSON.parse(stdout) as { name: string; description?: string; sample_specification?: string }[];
    return sources.map((s) => {
      const spec = /(\d+)ch (\d+)Hz/.exec(s.sample_specification ?? '');
      return {
        name: s.name,
        description: s.description ?? s.name,
        channels: spec ? Number(spec[1]) : 2,
        rate: spec ? Number(spec[2]) : 44100,
      };
    });
  } catch {
    return [];
  }
}

export class DeviceNotFoundError extends Error {
  override readonly name = 'DeviceNotFoundError';
  constructor(
    readonly spec: string | number,
    readonly available: CaptureDevice[],
  ) {
    super(describeNoMatch(spec, available));
  }
}

/** A `device:` value that cannot be a device name: a /regex/ that does not compile. */
export class DeviceSpecError extends Error {
  override readonly name = 'DeviceSpecError';
}

/**
 * When one name exists under several host APIs (Windows lists a device under
 * MME, DirectSound, WASAPI and WDM-KS), the first of these wins. A named
 * PulseAudio source beats ALSA's generic `pulse` device. WASAPI before MME:
 * MME truncates names to 31 characters and resamples with Windows' own
 * converter; WASAPI offers the device's own format, which we convert.
 */
const HOST_API_PREFERENCE = ['PulseAudio', 'Core Audio', 'Windows WASAPI', 'MME', 'Windows DirectSound', 'ALSA', 'JACK Audio Connection Kit', 'Windows WDM-KS'];

function hostApiRank(device: CaptureDevice): number {
  const rank = HOST_API_PREFERENCE.indexOf(device.hostApi);
  return rank < 0 ? HOST_API_PREFERENCE.length : rank;
}

function preferred(candidates: CaptureDevice[]): CaptureDevice | undefined {
  let best: CaptureDevice | undefined;
  for (const device of candidates) if (!best || hostApiRank(device) < hostApiRank(best)) best = device;
  return best;
}

/**
 * Finds the device a `device:` value names: a numeric id; `/regex/flags`
 * (tested against name and description); otherwise an exact name or id, then
 * a case-insensitive substring of the name or description. `a|b` in a plain
 * string tries each alternative in turn. Devices of every host API take part;
 * among several matches of the same kind the preferred host API wins.
 * Undefined means the system default input.
 */
export function matchDevice(spec: string | number | undefined, devices: CaptureDevice[]): CaptureDevice | undefined {
  if (spec === undefined) return undefined;
  if (typeof spec === 'number' || /^\d+$/.test(spec)) {
    const found = devices.find((d) => d.id === Number(spec));
    if (!found) throw new DeviceNotFoundError(spec, devices);
    return found;
  }
  const regex = parseDeviceRegex(spec);
  if (regex) {
    const found = preferred(devices.filter((d) => regex.test(d.name) || (d.description !== undefined && regex.test(d.description))));
    if (!found) throw new DeviceNotFoundError(spec, devices);
    return found;
  }
  for (const alternative of spec.split('|').map((s) => s.trim()).filter(Boolean)) {
    const exact = preferred(devices.filter((d) => d.name === alternative || d.id === alternative));
    if (exact) return exact;
    const lower = alternative.toLowerCase();
    const partial = preferred(
      devices.filter((d) => d.name.toLowerCase().includes(lower) || (d.description?.toLowerCase().includes(lower) ?? false)),
    );
    if (partial) return partial;
  }
  throw new DeviceNotFoundError(spec, devices);
}

/** `/pattern/flags` as a RegExp, or undefined for a plain string. */
export function parseDeviceRegex(spec: string): RegExp | undefined {
  const match = /^\/(.+)\/([a-z]*)$/.exec(spec);
  if (!match) return undefined;
  try {
    return new RegExp(match[1] as string, match[2]);
  } catch (error) {
    throw new DeviceSpecError(
      `device ${JSON.stringify(spec)} is not a valid /regex/: ${(error as Error).message}. ` +
        'Write /pattern/ with flags from dgimsuy after it, or a plain name without the slashes.',
      { cause: error },
    );
  }
}

/**
 * The format a device works in natively, as far as we can know: a PulseAudio
 * source's own sample spec, else PortAudio's default rate and at most two
 * channels (the two a loopback device carries what the system plays on).
 */
export function nativeFormat(device: CaptureDevice): { sampleRate: number; channels: number } {
  return { sampleRate: device.defaultSampleRate, channels: Math.max(1, Math.min(2, device.inputChannels)) };
}

export function formatDeviceTable(devices: CaptureDevice[]): string {
  if (devices.length === 0) return '  (no capture devices found)';
  const rows = devices.map((d) => [
    String(d.id),
    d.name + (d.description && d.description !== d.name ? ` (${d.description})` : ''),
    d.hostApi,
    String(d.inputChannels),
    String(d.defaultSampleRate),
    [d.isDefault ? 'default' : '', d.loopback ? 'loopback' : ''].filter(Boolean).join(', '),
  ]);
  const header = ['ID', 'NAME', 'HOST API', 'IN', 'RATE', ''];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)));
  return [header, ...rows].map((r) => '  ' + r.map((c, i) => c.padEnd(widths[i] as number)).join('  ').trimEnd()).join('\n');
}

export const LOOPBACK_SETUP = [
  'To capture what the computer plays, route it into a loopback device:',
  '  macOS:   install BlackHole (brew install blackhole-2ch); in Audio MIDI Setup create a Multi-Output Device',
  '           with your speakers and BlackHole, make it the output, then use device: "BlackHole".',
  '  Windows: install VB-Audio Virtual Cable, set "CABLE Input" as the playback device, then use device: "CABLE Output".',
  '  Linux:   every PulseAudio/PipeWire output has a monitor source; use device: "monitor" (or the exact',
  '           name from `pactl list short sources`, e.g. "alsa_output.pci-0000_00_1f.3.analog-stereo.monitor").',
].join('\n');

function describeNoMatch(spec: string | number, available: CaptureDevice[]): string {
  return [
    `no capture device matches ${JSON.stringify(spec)}.`,
    available.length ? 'Devices that exist:' : 'No capture device exists (on Linux: is a PulseAudio or PipeWire server running for this user?).',
    formatDeviceTable(available),
    'A device is chosen by numeric id, exact name, /regex/, or a substring of its name ("a|b" tries each).',
    LOOPBACK_SETUP,
  ].join('\n');
}

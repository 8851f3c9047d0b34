import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { PrivatePulse } from '../support/pulse.js';
import {
  DeviceNotFoundError,
  DeviceSpecError,
  looksLikeLoopback,
  matchDevice,
  nativeFormat,
  type CaptureDevice,
} from '../../src/capture/devices.js';

function device(id: number | string, name: string, hostApi: string, extra: Partial<CaptureDevice> = {}): CaptureDevice {
  return { id, name, hostApi, inputChannels: 2, defaultSampleRate: 48000, loopback: looksLikeLoopback(name, extra.description), ...extra };
}

// What PortAudio lists on each platform (names as the host APIs spell them).
const mac = [
  device(0, 'MacBook Pro Microphone', 'Core Audio', { inputChannels: 1 }),
  device(1, 'BlackHole 16ch', 'Core Audio', { inputChannels: 16 }),
  device(2, 'BlackHole 2ch', 'Core Audio'),
  device(3, 'Loopback Audio', 'Core Audio'),
];
const windows = [
  device(0, 'Microphone (Realtek(R) Audio)', 'MME'),
  device(1, 'CABLE Output (VB-Audio Virtual C', 'MME'),
  device(2, 'Stereo Mix (Realtek(R) Audio)', 'MME'),
  device(3, 'CABLE Output (VB-Audio Virtual Cable)', 'Windows DirectSound'),
  device(4, 'CABLE Output (VB-Audio Virtual Cable)', 'Windows WASAPI'),
  device(5, 'Microphone (Realtek(R) Audio)', 'Windows WASAPI'),
  device(6, 'CABLE Output (VB-Audio Point)', 'Windows WDM-KS'),
];
const linux = [
  device(0, 'pulse', 'ALSA', { inputChannels: 32, defaultSampleRate: 44100 }),
  device(1, 'default', 'ALSA', { inputChannels: 32, defaultSampleRate: 44100 }),
  device('pulse:alsa_input.pci-0000_00_1f.3.analog-stereo', 'alsa_input.pci-0000_00_1f.3.analog-stereo', 'PulseAudio', {
    description: 'Built-in Audio Analog Stereo',
    via: { portAudioId: 0, pulseSource: 'alsa_input.pci-0000_00_1f.3.analog-stereo' },
  }),
  device('pulse:alsa_output.pci-0000_00_1f.3.analog-stereo.monitor', 'alsa_output.pci-0000_00_1f.3.analog-stereo.monitor', 'PulseAudio', {
    description: 'Monitor of Built-in Audio Analog Stereo',
    via: { portAudioId: 0, pulseSource: 'alsa_output.pci-0000_00_1f.3.analog-stereo.monitor' },
  }),
];

describe('device matching', () => {
  it('no device: the system default input', () => {
    expect(matchDevice(undefined, mac)).to.equal(undefined);
  });

  it('an exact name wins over names that merely contain it', () => {
    expect(matchDevice('BlackHole 2ch', mac)?.id).to.equal(2);
  });

  it('a plain string is a case-insensitive substring of the name', () => {
    expect(matchDevice('blackhole', mac)?.id).to.equal(1);
    expect(matchDevice('LOOPBACK', mac)?.id).to.equal(3);
  });

  it('a number, or a string of digits, is a PortAudio id', () => {
    expect(matchDevice(2, mac)?.name).to.equal('BlackHole 2ch');
    expect(matchDevice('3', mac)?.name).to.equal('Loopback Audio');
    expect(() => matchDevice(9, mac)).to.throw(DeviceNotFoundError);
  });

  it('/regex/flags is tested against names and descriptions', () => {
    expect(matchDevice('/^blackhole 2/i', mac)?.id).to.equal(2);
    expect(matchDevice('/Monitor of Built-in/', linux)?.name).to.match(/\.monitor$/);
  });

  it('a|b tries each alternative in turn', () => {
    expect(matchDevice('BlackHole|monitor', linux)?.name).to.equal('alsa_output.pci-0000_00_1f.3.analog-stereo.monitor');
    expect(matchDevice('BlackHole|monitor', mac)?.id).to.equal(1);
  });

  it('matches across host APIs, preferring WASAPI when a name exists under several', () => {
    expect(matchDevice('CABLE Output', windows)).to.include({ id: 4, hostApi: 'Windows WASAPI' });
    expect(matchDevice('CABLE Output (VB-Audio Virtual Cable)', windows)?.id).to.equal(4);
    // MME truncates names to 31 characters; its exact name still finds it.
    expect(matchDevice('CABLE Output (VB-Audio Virtual C', windows)?.id).to.equal(1);
    expect(matchDevice('stereo mix', windows)?.hostApi).to.equal('MME');
  });

  it('on Linux, PulseAudio sources are matched by name, description or id, and beat the generic ALSA device', () => {
    expect(matchDevice('monitor', linux)?.via?.pulseSource).to.equal('alsa_output.pci-0000_00_1f.3.analog-stereo.monitor');
    expect(matchDevice('Built-in Audio Analog Stereo', linux)?.id).to.equal('pulse:alsa_input.pci-0000_00_1f.3.analog-stereo');
    expect(matchDevice('pulse:alsa_input.pci-0000_00_1f.3.analog-stereo', linux)?.hostApi).to.equal('PulseAudio');
    expect(matchDevice('pulse', linux)?.id, 'an exact name still wins').to.equal(0);
  });

  it('no match: the error lists the devices there are and how to set up a loopback on each platform', () => {
    let error: unknown;
    try {
      matchDevice('BlackHole', windows);
    } catch (caught) {
      error = caught;
    }
    expect(error).to.be.instanceOf(DeviceNotFoundError);
    const message = (error as Error).message;
    expect(message).to.match(/^no capture device matches "BlackHole"/);
    for (const d of windows) expect(message).to.include(d.name);
    expect(message).to.include('Windows WASAPI');
    expect(message).to.match(/macOS: +install BlackHole/);
    expect(message).to.match(/Windows: +install VB-Audio Virtual Cable/);
    expect(message).to.match(/Linux: +every PulseAudio\/PipeWire output has a monitor source/);
    expect((error as DeviceNotFoundError).available).to.equal(windows);
  });

  it('no device at all: the error says so and suggests the sound server', () => {
    expect(() => matchDevice('monitor', [])).to.throw(DeviceNotFoundError, /No capture device exists .*PulseAudio or PipeWire server/);
  });

  it('a /regex/ that does not compile is a DeviceSpecError naming it', () => {
    expect(() => matchDevice('/black(hole/', mac)).to.throw(DeviceSpecError, /device "\/black\(hole\/" is not a valid \/regex\//);
  });
});

describe('loopback hints and native formats', () => {
  it('marks loopback-looking devices', () => {
    for (const name of ['BlackHole 2ch', 'CABLE Output (VB-Audio Virtual Cable)', 'Loopback Audio', 'speakers.monitor', 'Stereo Mix (Realtek(R) Audio)']) {
      expect(looksLikeLoopback(name), name).to.equal(true);
    }
    expect(looksLikeLoopback('alsa_input.usb', 'Monitor of USB Headset')).to.equal(true);
    expect(looksLikeLoopback('MacBook Pro Microphone')).to.equal(false);
    expect(looksLikeLoopback('Microphone (Realtek(R) Audio)')).to.equal(false);
  });

  it('a device natively offers its default rate and at most two channels', () => {
    expect(nativeFormat(mac[1] as CaptureDevice)).to.deep.equal({ sampleRate: 48000, channels: 2 });
    expect(nativeFormat(mac[0] as CaptureDevice)).to.deep.equal({ sampleRate: 48000, channels: 1 });
  });
});

describe('earshot devices (a real PulseAudio server)', function () {
  this.timeout(30000);
  let pulse: PrivatePulse;
  const bin = fileURLToPath(new URL('../../../bin/earshot.cjs', import.meta.url));

  before(async () => {
    pulse = await PrivatePulse.start([{ name: 'earshot_test' }, { name: 'sink48', rate: 48000, channels: 2 }]);
  });
  after(async () => {
    await pulse.stop();
  });

  function earshot(args: string[], env: Record<string, string>): Promise<{ stdout: string; stderr: string }> {
    return promisify(execFile)(process.execPath, [bin, ...args], { env: { ...process.env, ...env }, timeout: 20000 });
  }

  it('--json lists every PulseAudio source with its format, marks monitors as loopback, and says how to open them', async () => {
    const { stdout } = await earshot(['devices', '--json'], pulse.env);
    const devices = JSON.parse(stdout) as CaptureDevice[];
    const monitor = devices.find((d) => d.name === 'sink48.monitor');
    expect(monitor).to.deep.include({ id: 'pulse:sink48.monitor', hostApi: 'PulseAudio', inputChannels: 2, defaultSampleRate: 48000, loopback: true });
    expect(monitor?.via?.pulseSource).to.equal('sink48.monitor');
    expect(devices.find((d) => d.name === 'earshot_test.monitor')).to.deep.include({ loopback: true, isDefault: true });
    expect(devices.filter((d) => d.isDefault).map((d) => d.name), 'only the default source is marked').to.deep.equal(['earshot_test.monitor']);
    expect(devices.find((d) => d.name === 'pulse')).to.deep.include({ hostApi: 'ALSA', loopback: false });
  });

  it('the table marks the default source', async () => {
    const { stdout } = await earshot(['devices'], pulse.env);
    expect(stdout).to.match(/earshot_test\.monitor .*default, loopback/);
    expect(stdout).to.match(/sink48\.monitor .*\s loopback/);
  });

  it('without a sound server: no devices, and the loopback set-up for each platform', async () => {
    const empty = await mkdtemp(join(tmpdir(), 'earshot-nopulse-'));
    try {
      const { stdout } = await earshot(['devices'], { XDG_RUNTIME_DIR: empty, PULSE_SERVER: `unix:${join(empty, 'none')}` });
      expect(stdout).to.include('(no capture devices found)');
      expect(stdout).to.include('No loopback device found.');
      expect(stdout).to.match(/macOS: +install BlackHole/);
      const json = await earshot(['devices', '--json'], { XDG_RUNTIME_DIR: empty, PULSE_SERVER: `unix:${join(empty, 'none')}` });
      expect(JSON.parse(json.stdout)).to.deep.equal([]);
    } finally {
      await rm(empty, { recursive: true, force: true });
    }
  });
});

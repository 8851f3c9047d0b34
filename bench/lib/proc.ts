/** Process and machine figures from Linux's /proc and Node. */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';

const TICKS_PER_SECOND = 100; // USER_HZ on Linux

/** CPU time (user + system, every thread) a process has used, in ms; 10 ms resolution. */
export function processCpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND;
}

/** Jiffies the machine's CPUs spent busy and in all, since boot (/proc/stat), to diff over a window. */
export function machineCpuTicks(): { busy: number; total: number } {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const total = fields.reduce((sum, v) => sum + v, 0);
  const idle = (fields[3] ?? 0) + (fields[4] ?? 0); // idle + iowait
  return { busy: total - idle, total };
}

export interface MachineInfo {
  hostname: string;
  cpuModel: string;
  cores: number;
  availableParallelism: number;
  memoryBytes: number;
  kernel: string;
  node: string;
  v8: string;
  loadAverageAtStart: number[];
  gitCommit?: string;
  gitDirty?: boolean;
}

export function machineInfo(repoDir: string): MachineInfo {
  const cpus = os.cpus();
  let git: { gitCommit?: string; gitDirty?: boolean } = {};
  try {
    const commit = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: repoDir, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: repoDir, encoding: 'utf8' }).trim() !== '';
    git = { gitCommit: commit, gitDirty: dirty };
  } catch {
    // Not a git checkout (a release tarball): the figures stand without it.
  }
  return {
    hostname: os.hostname(),
    cpuModel: cpus[0]?.model ?? 'unknown',
    cores: cpus.length,
    availableParallelism: os.availableParallelism(),
    memoryBytes: os.totalmem(),
    kernel: `${os.type()} ${os.release()}`,
    node: process.version,
    v8: process.versions.v8,
    loadAverageAtStart: os.loadavg(),
    ...git,
  };
}

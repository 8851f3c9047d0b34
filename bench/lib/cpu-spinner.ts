/** Keeps one core busy: a child process spinning in a loop, for the "other core busy" condition. */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';

export class CpuSpinner {
  private constructor(private readonly child: ChildProcess) {}

  static async start(): Promise<CpuSpinner> {
    const child = spawn(process.execPath, ['-e', 'process.send("spinning"); for (;;);'], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    await once(child, 'message');
    return new CpuSpinner(child);
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = once(this.child, 'exit');
    this.child.kill('SIGKILL');
    await exited;
  }
}

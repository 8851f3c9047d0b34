/** Running earshot's real command line as a child process, as a user would. */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const EARSHOT_BIN = fileURLToPath(new URL('../../../bin/earshot.cjs', import.meta.url));

export interface Earshot {
  child: ChildProcess;
  /** Everything written to stderr (logs) so far. */
  stderr: () => string;
  stdout: () => string;
  /** Resolves when a stream's text so far matches. */
  waitFor: (pattern: RegExp, timeoutMs: number, stream?: 'stderr' | 'stdout') => Promise<RegExpExecArray>;
  /** Resolves with the exit code; rejects if the process outlives timeoutMs. */
  exited: (timeoutMs: number) => Promise<number | null>;
}

export function runEarshot(args: string[], env: NodeJS.ProcessEnv = {}): Earshot {
  const child = spawn(process.execPath, [EARSHOT_BIN, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const text = { stderr: '', stdout: '' };
  const waiters: (() => void)[] = [];
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  for (const stream of ['stderr', 'stdout'] as const) {
    child[stream]?.on('data', (chunk: Buffer) => {
      text[stream] += chunk.toString();
      for (const wake of waiters.splice(0)) wake();
    });
  }
  return {
    child,
    stderr: () => text.stderr,
    stdout: () => text.stdout,
    waitFor: (pattern, timeoutMs, stream = 'stderr') =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`no ${pattern} on ${stream} within ${timeoutMs} ms; it ends:\n${text[stream].slice(-3000)}`)),
          timeoutMs,
        );
        const check = (): void => {
          const match = pattern.exec(text[stream]);
          if (match) {
            clearTimeout(timer);
            resolve(match);
          } else waiters.push(check);
        };
        check();
      }),
    exited: (timeoutMs) =>
      Promise.race([
        exit,
        new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`earshot ${args[0]} did not exit within ${timeoutMs} ms`)), timeoutMs).unref()),
      ]),
  };
}

/** Polls until condition() holds. */
export async function until(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

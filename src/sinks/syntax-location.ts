/**
 * Where a syntax error is. Node's import() reports an ES module's
 * SyntaxError without file or line, so the plugin's source is checked again
 * with `node --check`, which prints the line and a caret under the fault.
 * Only used on the error path; bounded in time.
 */
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';

const CHECK_TIMEOUT_MS = 5000;

/** `file:line` and the offending code, or undefined when the file itself parses (the error is in something it imports). */
export async function locateSyntaxError(path: string): Promise<string | undefined> {
  let source: string;
  try {
    source = await readFile(path, 'utf8');
  } catch {
    return undefined;
  }
  const inputType = path.endsWith('.cjs') ? 'commonjs' : 'module';
  const stderr = await new Promise<string | undefined>((resolve) => {
    const child = spawn(process.execPath, [`--input-type=${inputType}`, '--check'], { stdio: ['pipe', 'ignore', 'pipe'], timeout: CHECK_TIMEOUT_MS });
    let output = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    child.on('error', () => resolve(undefined));
    child.on('close', (code) => resolve(code === 0 ? undefined : output));
    child.stdin.on('error', () => undefined);
    child.stdin.end(source);
  });
  const match = stderr && /^\[stdin\]:(\d+)\n(.*)\n(\s*\^+)/.exec(stderr);
  if (!match) return undefined;
  const [, line, code, caret] = match as unknown as [string, string, string, string];
  return `${path}:${line}\n    ${code}\n    ${caret}`;
}

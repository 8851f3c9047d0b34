/** Reading the pipeline file corpus under test/fixtures/config. */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { formatDiagnostic, type Diagnostic } from '../../src/config/diagnostic.js';

/** The source tree's fixtures (tests run from dist/test/config). */
export const FIXTURES = fileURLToPath(new URL('../../../test/fixtures/config/', import.meta.url));

/** What every fixture sees in its environment unless it says otherwise with `# env: NAME=value`. */
export const BASE_ENV: Readonly<Record<string, string>> = { ASSEMBLYAI_API_KEY: 'test-api-key-0123456789' };

export interface Fixture {
  readonly name: string;
  readonly path: string;
  readonly text: string;
  /** The first comment line: what the file gets wrong. */
  readonly description: string;
  readonly env: Record<string, string>;
  /** `# expect:` lines: `line:col: path: message`, in file order. */
  readonly expected: readonly string[];
}

export function fixtures(kind: 'broken' | 'valid' | 'warn'): Fixture[] {
  const dir = `${FIXTURES}${kind}/`;
  return readdirSync(dir)
    .filter((name) => name.endsWith('.yaml'))
    .sort()
    .map((name) => readFixture(dir, name));
}

function readFixture(dir: string, name: string): Fixture {
  const text = readFileSync(dir + name, 'utf8');
  const env: Record<string, string> = { ...BASE_ENV };
  // A value in double quotes is JSON, so a fixture can hold a newline.
  for (const [, key, value] of text.matchAll(/^# env: ([A-Za-z_][A-Za-z0-9_]*)=(.*)$/gm)) {
    env[key!] = value!.startsWith('"') ? (JSON.parse(value!) as string) : value!;
  }
  const expected = [...text.matchAll(/^# expect: (.*)$/gm)].map((m) => m[1]!);
  const description = /^# (.*)$/m.exec(text)?.[1] ?? '';
  return { name, path: dir + name, text, description, env, expected };
}

/** A diagnostic as a fixture writes it: without the file name. */
export function located(diagnostic: Diagnostic): string {
  return formatDiagnostic(diagnostic).slice(diagnostic.file.length + 1).trimStart();
}

/** Code examples in the docs, taken out so tests can run them as a reader would. */
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const docs = resolve(dirname(fileURLToPath(import.meta.url)), '../../../docs');

/** The first fenced block of the given language in docs/<name> whose text contains `marker`. */
export async function docsExample(name: string, language: string, marker: string): Promise<string> {
  const text = await readFile(resolve(docs, name), 'utf8');
  for (const match of text.matchAll(/^```(\w*)\n([\s\S]*?)^```$/gm)) {
    if (match[1] === language && (match[2] as string).includes(marker)) return match[2] as string;
  }
  throw new Error(`docs/${name} has no \`\`\`${language} block containing ${JSON.stringify(marker)}`);
}

/** The reference decode: pocketsphinx_continuous reading a WAV file itself, with none of earshot in between. */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { DEFAULT_MODEL_DIR } from '../../src/engine/pocketsphinx.js';
import { UtteranceParser } from '../../src/engine/pocketsphinx-output.js';

const run = promisify(execFile);

export async function decodeFileDirect(wavPath: string, modelDir = DEFAULT_MODEL_DIR): Promise<string> {
  const m = modelDir;
  const args = ['-infile', wavPath, '-time', 'yes', '-hmm', `${m}/en-us`, '-lm', `${m}/en-us.lm.bin`, '-dict', `${m}/cmudict-en-us.dict`];
  const { stdout } = await run('pocketsphinx_continuous', args, { maxBuffer: 16 * 1024 * 1024 });
  const texts: string[] = [];
  const parser = new UtteranceParser((u) => texts.push(u.text));
  for (const line of stdout.split('\n')) parser.line(line);
  parser.end();
  return texts.join(' ');
}

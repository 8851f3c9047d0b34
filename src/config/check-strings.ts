/**
 * Line breaks where a single line is meant: a key, URL, path or header read
 * from a file with its trailing newline is a classic silent failure (the
 * service answers "invalid API key" and nobody sees the `\n`).
 */
import type { CheckContext } from './check-context.js';
import type { Path } from './path.js';

/** Free text, where several lines are legitimate (and `x-` blocks, checked where their anchors are used). */
function mayHaveLines(path: Path): boolean {
  const [root, , part, ...rest] = path;
  if (typeof root === 'string' && root.startsWith('x-')) return true;
  if (root !== 'pipelines') return false;
  if (part === 'sinks' && rest[1] === 'options') return true;
  return part === 'transcriber' && rest[0] === 'params' && (rest[1] === 'prompt' || rest[1] === 'agent_context');
}

export function checkSingleLines(ctx: CheckContext): void {
  visit(ctx, ctx.config, []);
}

function visit(ctx: CheckContext, value: unknown, path: Path): void {
  if (mayHaveLines(path) || !ctx.intact(path)) return;
  if (typeof value === 'string') {
    if (!/[\r\n]/.test(value) || !ctx.usable(path)) return;
    const where = /^[^\r\n]*(\r\n|\r|\n)$/.test(value) ? 'ends with a line break' : 'contains a line break';
    ctx.report('error', path, 'value', `must be a single line, but ${where}`);
  } else if (Array.isArray(value)) {
    value.forEach((item, index) => visit(ctx, item, [...path, index]));
  } else if (value !== null && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) visit(ctx, item, [...path, key]);
  }
}

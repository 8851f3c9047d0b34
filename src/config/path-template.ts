import path from 'node:path';

/**
 * Path templates of file and wav sinks: `transcripts/{pipeline}-{date}.jsonl`.
 * One parser for validation and rendering, so a template that validates
 * renders as the user expects.
 */

export const PATH_PLACEHOLDERS = ['pipeline', 'label', 'date', 'time', 'session'] as const;
export type PathPlaceholder = (typeof PATH_PLACEHOLDERS)[number];

export type TemplatePart = { readonly text: string } | { readonly placeholder: string };

export interface ParsedTemplate {
  readonly parts: readonly TemplatePart[];
  /** Problems with braces (unknown names are for the caller to judge). */
  readonly problems: readonly string[];
}

export function parsePathTemplate(template: string): ParsedTemplate {
  const parts: TemplatePart[] = [];
  const problems: string[] = [];
  let rest = template;
  while (rest !== '') {
    const open = rest.indexOf('{');
    const strayClose = rest.indexOf('}');
    if (strayClose !== -1 && (open === -1 || strayClose < open)) {
      problems.push("'}' without a matching '{'");
      parts.push({ text: rest.slice(0, strayClose + 1) });
      rest = rest.slice(strayClose + 1);
      continue;
    }
    if (open === -1) {
      parts.push({ text: rest });
      break;
    }
    if (open > 0) parts.push({ text: rest.slice(0, open) });
    const close = rest.indexOf('}', open);
    const nextOpen = rest.indexOf('{', open + 1);
    if (close === -1 || (nextOpen !== -1 && nextOpen < close)) {
      problems.push(`'{' at character ${template.length - rest.length + open + 1} is not closed by '}'`);
      parts.push({ text: rest.slice(open, open + 1) });
      rest = rest.slice(open + 1);
      continue;
    }
    const name = rest.slice(open + 1, close);
    if (name === '') problems.push("empty placeholder '{}'");
    else parts.push({ placeholder: name });
    rest = rest.slice(close + 1);
  }
  return { parts, problems };
}

/** Fill a valid template's placeholders. */
export function renderPathTemplate(template: string, values: Readonly<Record<PathPlaceholder, string>>): string {
  return parsePathTemplate(template)
    .parts.map((part) => ('text' in part ? part.text : (values[part.placeholder as PathPlaceholder] ?? `{${part.placeholder}}`)))
    .join('');
}

/**
 * Which file a file or wav sink writes, as far as a config can tell: the
 * template with the pipeline and its label filled in (the label falls back
 * to the pipeline's name, as when rendering), `{session}` unique to the
 * pipeline (session ids are), `{date}` and `{time}` kept (every sink renders
 * them alike at one moment). Sinks with one identity write one file.
 */
export function outputIdentity(template: string, pipeline: string, label: string | undefined): string {
  const values = { pipeline, label: label ?? pipeline, session: `\0session-of-${pipeline}`, date: '{date}', time: '{time}' };
  return path.normalize(renderPathTemplate(template, values));
}

/**
 * Sinks: path templates that render, files that two sinks would fight over,
 * names that must tell sinks apart, and settings that do nothing.
 */
import path from 'node:path';
import type { CheckContext } from './check-context.js';
import { formatPath, type Path } from './path.js';
import { outputIdentity, parsePathTemplate, PATH_PLACEHOLDERS } from './path-template.js';
import type { FileSinkConfig, PipelineConfig, SinkConfig, WebhookSinkConfig } from './schema.js';
import { didYouMean, listWords } from './suggest.js';
import { parseUrl } from './urls.js';

type Sinks = readonly SinkConfig[];

export function checkSinks(ctx: CheckContext): void {
  const writers = new Map<string, Writer>();
  for (const [name, pipeline] of Object.entries(ctx.config.pipelines)) {
    const sinksPath: Path = ['pipelines', name, 'sinks'];
    if (!ctx.intact(sinksPath)) continue;
    const sinks: Sinks = pipeline.sinks;
    checkNames(ctx, sinks, sinksPath);
    let consoles = 0;
    sinks.forEach((sink, index) => {
      const sinkPath = [...sinksPath, index];
      if (!ctx.intact(sinkPath) || !ctx.usable([...sinkPath, 'type'])) return;
      if (sink.type === 'console' && ++consoles === 2) {
        ctx.report('warning', sinkPath, 'value', `a second console sink in pipeline '${name}' prints every line twice`);
      }
      if (sink.type === 'file' || sink.type === 'wav') checkTemplate(ctx, sink.type, sink.path, [...sinkPath, 'path'], name, pipeline);
      if (sink.type === 'file') checkFileSink(ctx, sink, sinkPath);
      if (sink.type === 'wav' && ctx.usable([...sinkPath, 'path']) && !/\.wav$/i.test(sink.path)) {
        ctx.report('warning', [...sinkPath, 'path'], 'value', `a wav sink writes WAV audio; "${sink.path}" does not end in .wav`);
      }
      if (sink.type === 'webhook') checkWebhook(ctx, sink, sinkPath);
    });
    checkSharedFiles(ctx, writers, name, pipeline, sinksPath);
  }
}

function checkNames(ctx: CheckContext, sinks: Sinks, sinksPath: Path): void {
  const named = new Map<string, number>();
  sinks.forEach((sink, index) => {
    const namePath = [...sinksPath, index, 'name'];
    if (!ctx.usable(namePath) || sink.name === undefined) return;
    const earlier = named.get(sink.name);
    if (earlier === undefined) named.set(sink.name, index);
    else {
      const line = ctx.locate([...sinksPath, earlier, 'name'], 'value').line;
      ctx.report('error', namePath, 'value', `sink name '${sink.name}' is already used by ${formatPath([...sinksPath, earlier])} (line ${line}); names tell sinks apart in logs and metrics`);
    }
  });
}

const PLACEHOLDERS_FOR: Readonly<Record<'file' | 'wav', readonly string[]>> = {
  file: PATH_PLACEHOLDERS,
  wav: PATH_PLACEHOLDERS.filter((p) => p !== 'session'),
};

function checkTemplate(ctx: CheckContext, type: 'file' | 'wav', template: string, templatePath: Path, name: string, pipeline: PipelineConfig): void {
  if (!ctx.usable(templatePath)) return;
  const { parts, problems } = parsePathTemplate(template);
  for (const problem of problems) ctx.report('error', templatePath, 'value', `${problem} in path template "${template}"`);
  const valid = PLACEHOLDERS_FOR[type];
  const braced = valid.map((p) => `{${p}}`);
  for (const part of parts) {
    if (!('placeholder' in part)) continue;
    const placeholder = part.placeholder;
    if (type === 'wav' && placeholder === 'session') {
      ctx.report('error', templatePath, 'value', '{session} is not available in a wav sink path: a recording spans transcriber sessions; use {date} and {time}');
    } else if (!valid.includes(placeholder)) {
      const close = didYouMean(placeholder, valid);
      const head = `unknown placeholder {${placeholder}} in path`;
      const choices = `valid: ${listWords(braced)}`;
      ctx.report('error', templatePath, 'value', close === undefined ? `${head}; ${choices}` : `${head}; did you mean {${close}}? ${choices}`);
    } else if (placeholder === 'label' && pipeline.label === undefined && ctx.usable(['pipelines', name, 'label'])) {
      ctx.report('warning', templatePath, 'value', `{label} is used but pipeline '${name}' has no label`);
    }
  }
}

const FORMAT_BY_EXTENSION: Readonly<Record<string, FileSinkConfig['format']>> = {
  '.txt': 'text',
  '.text': 'text',
  '.jsonl': 'jsonl',
  '.ndjson': 'jsonl',
  '.json': 'jsonl',
  '.srt': 'srt',
  '.vtt': 'vtt',
};

function checkFileSink(ctx: CheckContext, sink: FileSinkConfig, sinkPath: Path): void {
  const formatPath_ = [...sinkPath, 'format'];
  if (ctx.usable([...sinkPath, 'path']) && ctx.usable(formatPath_)) {
    const extension = path.extname(sink.path).toLowerCase();
    const implied = FORMAT_BY_EXTENSION[extension];
    if (implied !== undefined && implied !== sink.format) {
      const given = ctx.given(formatPath_);
      ctx.report(
        'warning',
        given ? formatPath_ : [...sinkPath, 'path'],
        'value',
        `the path ends in ${extension} but the format is ${sink.format}${given ? '' : ' (the default)'}; set format: ${implied}`,
      );
    }
  }
  if (ctx.usable([...sinkPath, 'partials']) && ctx.usable(formatPath_) && sink.partials && sink.format !== 'jsonl') {
    ctx.report('warning', [...sinkPath, 'partials'], 'value', `partials are only written in jsonl; a ${sink.format} file gets final turns only`);
  }
  const cues = [...sinkPath, 'cues'];
  if (sink.cues !== undefined && ctx.usable(cues) && ctx.usable(formatPath_) && sink.format !== 'srt' && sink.format !== 'vtt') {
    ctx.report('warning', cues, 'key', `cues only shape srt and vtt files; a ${sink.format} file ignores them`);
  }
  const minCue = [...cues, 'min_duration_ms'];
  const maxCue = [...cues, 'max_duration_ms'];
  if (sink.cues !== undefined && ctx.usable(minCue) && ctx.usable(maxCue) && sink.cues.min_duration_ms > sink.cues.max_duration_ms) {
    ctx.report('error', minCue, 'value', `min_duration_ms (${sink.cues.min_duration_ms}) is more than max_duration_ms (${sink.cues.max_duration_ms})`);
  }
  const rotate = [...sinkPath, 'rotate'];
  if (sink.rotate !== undefined && ctx.usable(rotate) && sink.rotate.max_bytes === undefined && sink.rotate.max_seconds === undefined) {
    ctx.report('warning', rotate, 'key', 'rotate has neither max_bytes nor max_seconds, so the file never rotates');
  }
}

/** Headers a webhook sink sets itself. */
const RESERVED_HEADERS = ['content-type', 'content-length', 'host', 'webhook-id', 'webhook-timestamp', 'webhook-signature', 'idempotency-key'];
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

function checkWebhook(ctx: CheckContext, sink: WebhookSinkConfig, sinkPath: Path): void {
  const urlPath = [...sinkPath, 'url'];
  const url = ctx.usable(urlPath) ? parseUrl(sink.url) : undefined;
  if (url !== undefined && url.hash !== '') {
    ctx.report('warning', urlPath, 'value', `the #${url.hash.slice(1)} part of a URL is never sent to the server`);
  }
  const initial = [...sinkPath, 'retry_initial_delay_ms'];
  const max = [...sinkPath, 'retry_max_delay_ms'];
  if (ctx.usable(initial) && ctx.usable(max) && sink.retry_initial_delay_ms > sink.retry_max_delay_ms) {
    ctx.report('error', initial, 'value', `retry_initial_delay_ms (${sink.retry_initial_delay_ms}) is more than retry_max_delay_ms (${sink.retry_max_delay_ms})`);
  }
  const batchTimeout = [...sinkPath, 'batch_timeout_ms'];
  if (ctx.usable(batchTimeout) && ctx.usable([...sinkPath, 'batch_max_events']) && sink.batch_timeout_ms > 0 && sink.batch_max_events === 1) {
    ctx.report('warning', batchTimeout, 'key', 'batch_timeout_ms has no effect while batch_max_events is 1');
  }
  const headersPath = [...sinkPath, 'headers'];
  if (!ctx.intact(headersPath)) return;
  for (const header of Object.keys(sink.headers)) {
    const headerPath = [...headersPath, header];
    if (!HEADER_NAME.test(header)) {
      ctx.report('error', headerPath, 'key', `'${header}' is not a valid HTTP header name (letters, digits and !#$%&'*+.^_\`|~-, no spaces)`);
    } else if (RESERVED_HEADERS.includes(header.toLowerCase())) {
      ctx.report('warning', headerPath, 'key', `${header} is set by the webhook sink itself; this value is replaced`);
    }
  }
}

interface Writer {
  readonly templatePath: Path;
  readonly pipeline: string;
  readonly sink: SinkConfig;
}

/** Sharing a file is for transcripts read in order of arrival; subtitle and audio timelines are per pipeline. */
const SHAREABLE_FORMATS: readonly string[] = ['text', 'jsonl'];

/**
 * Two sinks that would write one file. Within a pipeline that is a mistake.
 * Across pipelines it is the meeting set-up (`me` and `them` in one
 * transcript): allowed for text and jsonl file sinks with the same settings,
 * which the service then runs as one sink fed by both pipelines.
 */
function checkSharedFiles(ctx: CheckContext, writers: Map<string, Writer>, name: string, pipeline: PipelineConfig, sinksPath: Path): void {
  pipeline.sinks.forEach((sink, index) => {
    const templatePath = [...sinksPath, index, 'path'];
    if (!ctx.usable(templatePath) || !ctx.usable([...sinksPath, index, 'type']) || (sink.type !== 'file' && sink.type !== 'wav')) return;
    const target = outputIdentity(sink.path, name, pipeline.label);
    const earlier = writers.get(target);
    if (earlier === undefined) {
      writers.set(target, { templatePath, pipeline: name, sink });
      return;
    }
    const other = formatPath(earlier.templatePath.slice(0, -1));
    const line = ctx.locate(earlier.templatePath, 'value').line;
    if (earlier.pipeline === name) {
      ctx.report('error', templatePath, 'value', `writes the same file as ${other} (line ${line}); give each sink its own path`);
      return;
    }
    const hint = sink.path.includes('{pipeline}') ? '' : '; or add {pipeline} to the template';
    if (sink.type !== 'file' || earlier.sink.type !== 'file' || !SHAREABLE_FORMATS.includes(sink.format) || !SHAREABLE_FORMATS.includes(earlier.sink.format)) {
      ctx.report('error', templatePath, 'value', `writes the same file as ${other} (line ${line}); pipelines can share only text and jsonl files; give each sink its own path${hint}`);
      return;
    }
    const differences = differingSettings(sink, earlier.sink);
    if (differences.length > 0) {
      ctx.report('error', templatePath, 'value', `writes the same file as ${other} (line ${line}) with other settings (${differences.join(', ')}); pipelines sharing a file need the same settings${hint}`);
      return;
    }
    const unlabelled = [earlier.pipeline, name].filter((p) => ctx.config.pipelines[p]?.label === undefined);
    if (sink.format === 'text' && sink.labels && unlabelled.length > 0) {
      ctx.report('warning', templatePath, 'value', `shares its file with ${other} (line ${line}); give ${unlabelled.map((p) => `pipeline '${p}'`).join(' and ')} a label (me, them) so ${unlabelled.length > 1 ? 'their' : 'its'} lines can be told apart`);
    }
  });
}

/** Settings of two file sinks that differ, ignoring what each pipeline may set for itself (name, queue). */
function differingSettings(a: FileSinkConfig, b: FileSinkConfig): string[] {
  const own = new Set(['path', 'name', 'queue_events', 'queue_policy']);
  const keys = new Set([...Object.keys(a), ...Object.keys(b)].filter((key) => !own.has(key)));
  const value = (sink: FileSinkConfig, key: string) => JSON.stringify((sink as unknown as Record<string, unknown>)[key]);
  return [...keys].filter((key) => value(a, key) !== value(b, key)).sort();
}

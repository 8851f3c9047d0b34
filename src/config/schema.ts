/**
 * The pipeline file's schema. One definition gives three things: validation
 * (Ajv), the TypeScript types the code uses (Static<>), and the JSON Schema
 * published for editors (`earshot schema`). Defaults live here and only here.
 *
 * Naming follows anchors.md: snake_case, the unit in the name (`_ms`, `_seconds`),
 * variants chosen by a `type` key.
 */
import { Type, type Static, type TString } from '@sinclair/typebox';

const Strict = { additionalProperties: false } as const;

/** A field whose value must never be logged or echoed. */
function Secret(description: string): TString {
  return Type.String({ minLength: 1, description, 'x-secret': true });
}

function overflowPolicy() {
  return Type.Union([Type.Literal('drop_oldest'), Type.Literal('drop_newest')], {
    default: 'drop_oldest',
    description: 'What a full buffer does with one more item: drop the oldest queued item, or the new one. Every drop is counted.',
  });
}
export const OverflowPolicy = overflowPolicy();
export type OverflowPolicy = Static<typeof OverflowPolicy>;

// ---------------------------------------------------------------- sources

const AudioFormatFields = {
  sample_rate: Type.Integer({ minimum: 8000, maximum: 192000, default: 16000, description: 'Sample rate sent to the transcriber, in Hz.' }),
  channels: Type.Integer({ minimum: 1, maximum: 1, default: 1, description: 'Channels sent to the transcriber (the v3 API takes mono).' }),
  frame_ms: Type.Integer({ minimum: 10, maximum: 1000, default: 50, description: 'Audio per frame, in milliseconds.' }),
  ring_seconds: Type.Number({ minimum: 0.5, maximum: 600, default: 10, description: 'Capacity of the capture ring, in seconds of audio.' }),
  ring_policy: overflowPolicy(),
};

export const PortAudioSource = Type.Object(
  {
    type: Type.Literal('portaudio'),
    device: Type.Optional(
      Type.Union([Type.String({ minLength: 1 }), Type.Integer({ minimum: 0 })], {
        description: 'Exact name, /regex/, plain substring, or numeric id. Default: the system default input.',
      }),
    ),
    open_format: Type.Union([Type.Literal('auto'), Type.Literal('requested'), Type.Literal('native')], {
      default: 'auto',
      description:
        'auto: open at sample_rate/channels when the device accepts them, else at its native format and convert; requested: only at sample_rate/channels; native: always at the native format and convert.',
    }),
    ...AudioFormatFields,
  },
  Strict,
);

export const FileSource = Type.Object(
  {
    type: Type.Literal('file'),
    path: Type.String({ minLength: 1, description: 'A WAV file, or raw 16-bit little-endian PCM at sample_rate (`.raw`/`.pcm`).' }),
    realtime: Type.Boolean({ default: true, description: 'Pace frames at real time (true) or as fast as the pipeline takes them.' }),
    loop: Type.Boolean({ default: false, description: 'Start again from the beginning at the end of the file.' }),
    ...AudioFormatFields,
  },
  Strict,
);

export const SyntheticSource = Type.Object(
  {
    type: Type.Literal('synthetic'),
    signal: Type.Union([Type.Literal('tone'), Type.Literal('noise'), Type.Literal('silence')], {
      default: 'tone',
      description: 'A sine tone, white noise, or silence.',
    }),
    frequency_hz: Type.Number({ exclusiveMinimum: 0, default: 440, description: 'Frequency of the tone, in Hz.' }),
    amplitude: Type.Number({ minimum: 0, maximum: 1, default: 0.3, description: 'Peak level, 1 being full scale.' }),
    duration_ms: Type.Optional(Type.Integer({ minimum: 1, description: 'Stop after this much audio; default: run until stopped.' })),
    ...AudioFormatFields,
  },
  Strict,
);

export const Source = Type.Union([PortAudioSource, FileSource, SyntheticSource]);
export type SourceConfig = Static<typeof Source>;
export type PortAudioSourceConfig = Static<typeof PortAudioSource>;
export type FileSourceConfig = Static<typeof FileSource>;
export type SyntheticSourceConfig = Static<typeof SyntheticSource>;

// ---------------------------------------------------------------- transcribers

export const Reconnect = Type.Object(
  {
    max_attempts: Type.Integer({ minimum: 0, default: 20, description: 'Consecutive failed attempts before the pipeline stops; 0: never give up.' }),
    initial_delay_ms: Type.Integer({ minimum: 0, default: 250, description: 'Wait before the first retry; it grows (with jitter) up to max_delay_ms.' }),
    max_delay_ms: Type.Integer({ minimum: 0, default: 15000, description: 'Longest wait between two attempts.' }),
  },
  { ...Strict, default: {}, description: 'Backoff between connection attempts.' },
);

export const AssemblyAITranscriber = Type.Object(
  {
    type: Type.Literal('assemblyai'),
    api_key: Type.Optional(Secret('API key, sent in the Authorization header.')),
    token: Type.Optional(Secret('Temporary token, sent as the `token` query parameter.')),
    url: Type.String({
      format: 'uri',
      pattern: '^wss?://',
      default: 'wss://streaming.assemblyai.com/v3/ws',
      description: 'Streaming endpoint: the EU endpoint, or `earshot serve` (ws://127.0.0.1:PORT/v3/ws).',
    }),
    params: Type.Record(Type.String(), Type.Unknown(), {
      default: {},
      description: 'v3 connection parameters by their API names (format_turns, speech_model, keyterms_prompt, ...).',
    }),
    reconnect: Reconnect,
    buffer_seconds: Type.Number({ minimum: 0, maximum: 3600, default: 30, description: 'Audio kept while disconnected, replayed on reconnect.' }),
    connect_timeout_ms: Type.Integer({ minimum: 100, default: 10000, description: 'Give up on a connection attempt (up to the Begin message) after this long.' }),
    termination_timeout_ms: Type.Integer({ minimum: 100, default: 5000, description: 'On stop, wait this long for the last turns and Termination.' }),
  },
  Strict,
);

export const LocalTranscriber = Type.Object(
  {
    type: Type.Literal('local'),
    engine: Type.Literal('pocketsphinx', { default: 'pocketsphinx', description: 'The offline recognizer.' }),
    model_dir: Type.String({ minLength: 1, default: '/usr/share/pocketsphinx/model/en-us', description: 'Acoustic model, dictionary and language model.' }),
    restart: Reconnect,
    buffer_seconds: Type.Number({ minimum: 0, maximum: 3600, default: 30, description: 'Audio kept while the engine restarts.' }),
  },
  Strict,
);

export const Transcriber = Type.Union([AssemblyAITranscriber, LocalTranscriber]);
export type TranscriberConfig = Static<typeof Transcriber>;
export type AssemblyAITranscriberConfig = Static<typeof AssemblyAITranscriber>;
export type LocalTranscriberConfig = Static<typeof LocalTranscriber>;
export type ReconnectConfig = Static<typeof Reconnect>;

// ---------------------------------------------------------------- sinks

const SinkQueueFields = {
  name: Type.Optional(Type.String({ minLength: 1, description: 'Names the sink in logs and metrics; default: its type and index.' })),
  queue_events: Type.Integer({ minimum: 1, default: 10000, description: 'Bounded queue in front of the sink.' }),
  queue_policy: overflowPolicy(),
};

export const ConsoleSink = Type.Object(
  {
    type: Type.Literal('console'),
    partials: Type.Union([Type.Boolean(), Type.Literal('auto')], {
      default: 'auto',
      description: 'Show partial turns rewritten in place; auto: only when stdout is a terminal.',
    }),
    timestamps: Type.Boolean({ default: false, description: 'Prefix lines with the turn start time in the audio.' }),
    labels: Type.Union([Type.Boolean(), Type.Literal('auto')], { default: 'auto', description: 'Prefix lines with the pipeline label; auto: when several pipelines run.' }),
    color: Type.Union([Type.Boolean(), Type.Literal('auto')], { default: 'auto', description: 'auto: when stdout is a terminal and NO_COLOR is unset.' }),
    ...SinkQueueFields,
  },
  Strict,
);

export const CueOptions = Type.Object(
  {
    max_line_chars: Type.Integer({ minimum: 10, default: 42, description: 'Characters per line; a longer run of words wraps to the next line.' }),
    max_lines: Type.Integer({ minimum: 1, maximum: 4, default: 2, description: 'Lines per cue.' }),
    max_duration_ms: Type.Integer({ minimum: 1000, default: 7000, description: 'Longest a cue lasts; a longer stretch of speech goes on in the next cue.' }),
    max_pause_ms: Type.Integer({ minimum: 0, default: 1500, description: 'A pause between two words longer than this starts a new cue.' }),
    min_duration_ms: Type.Integer({
      minimum: 0,
      default: 833,
      description:
        'Shortest time a cue stays on screen: a shorter one is held into the silence after it, up to the next cue of its turn; the last cue of a turn is held the full time, and a next turn starting sooner starts when it ends. 0 holds none.',
    }),
  },
  { ...Strict, description: 'How srt and vtt cut turns into cues. Defaults follow common broadcast practice: 42 characters, two lines, 7 s, 5/6 s.' },
);
export type CueOptionsConfig = Static<typeof CueOptions>;

export const FileSink = Type.Object(
  {
    type: Type.Literal('file'),
    path: Type.String({ minLength: 1, description: 'Path template: {pipeline}, {label}, {date}, {time}, {session}.' }),
    format: Type.Union([Type.Literal('text'), Type.Literal('jsonl'), Type.Literal('srt'), Type.Literal('vtt')], {
      default: 'jsonl',
      description: 'text: one line per final turn; jsonl: one transcript event per line; srt/vtt: subtitles.',
    }),
    partials: Type.Boolean({ default: false, description: 'Also write partial turns (jsonl only).' }),
    timestamps: Type.Boolean({ default: false, description: 'text: prefix each line with the turn start in the audio stream, [HH:MM:SS.mmm].' }),
    labels: Type.Boolean({ default: true, description: 'text: prefix each line with the pipeline label and the speaker, when known.' }),
    cues: Type.Optional(CueOptions),
    rotate: Type.Optional(
      Type.Object(
        {
          max_bytes: Type.Optional(Type.Integer({ minimum: 1024, description: 'Start a new file before one would grow past this size.' })),
          max_seconds: Type.Optional(Type.Integer({ minimum: 1, description: 'Start a new file for the first record this long after the current one was opened.' })),
        },
        { ...Strict, description: 'New files are named by the path template, with -1, -2, ... added when the name is taken.' },
      ),
    ),
    ...SinkQueueFields,
  },
  Strict,
);

export const WebhookSink = Type.Object(
  {
    type: Type.Literal('webhook'),
    url: Type.String({ format: 'uri', pattern: '^https?://', description: 'Each transcript event (or batch) is POSTed here as JSON.' }),
    secret: Type.Optional(Secret('Standard Webhooks signing secret (`whsec_...` base64, or any string).')),
    headers: Type.Record(Type.String(), Type.String(), { default: {}, description: 'Extra request headers.' }),
    partials: Type.Boolean({ default: false, description: 'Also send partial turns.' }),
    batch_max_events: Type.Integer({ minimum: 1, default: 1, description: 'Events per request.' }),
    batch_timeout_ms: Type.Integer({ minimum: 0, default: 0, description: 'Send a batch that is not full after this long.' }),
    timeout_ms: Type.Integer({ minimum: 100, default: 10000, description: 'Per request; also how long stop() keeps delivering before it leaves the rest spooled.' }),
    retry_initial_delay_ms: Type.Integer({ minimum: 0, default: 500, description: 'First wait before retrying a failed request; Retry-After wins when given.' }),
    retry_max_delay_ms: Type.Integer({ minimum: 0, default: 60000, description: 'Longest wait between attempts; also caps a Retry-After.' }),
    spool_dir: Type.Optional(Type.String({ minLength: 1, description: 'Where undelivered turns wait, across restarts. Default: a directory under the state dir.' })),
    spool_max_bytes: Type.Integer({
      minimum: 4096,
      default: 64 * 1024 * 1024,
      description: 'Bound on the spool. A turn that would pass it is dropped (counted, logged as an error); spooled turns are kept.',
    }),
    rejected_max_bytes: Type.Integer({
      minimum: 0,
      default: 64 * 1024 * 1024,
      description:
        'Bound on rejected.jsonl in the spool directory, where requests the endpoint rejected for good (redirects, 4xx but 408/429) are kept for replay. Past it, rejected turns are dropped (counted, logged as an error); 0 keeps none.',
    }),
    ...SinkQueueFields,
  },
  Strict,
);

export const WavSink = Type.Object(
  {
    type: Type.Literal('wav'),
    path: Type.String({ minLength: 1, description: 'Path template: {pipeline}, {label}, {date}, {time}.' }),
    rotate_seconds: Type.Optional(Type.Integer({ minimum: 1, description: 'Start a new file after this much audio.' })),
    name: Type.Optional(Type.String({ minLength: 1, description: 'Names the sink in logs and metrics; default: its type and index.' })),
  },
  Strict,
);

export const PluginSink = Type.Object(
  {
    type: Type.Literal('plugin'),
    module: Type.String({ minLength: 1, description: 'A path (relative to the pipeline file) or a package name.' }),
    options: Type.Record(Type.String(), Type.Unknown(), { default: {}, description: "Passed to the plugin's create(); checked against its optionsSchema." }),
    isolation: Type.Optional(
      Type.Union([Type.Literal('thread'), Type.Literal('main')], {
        default: 'thread',
        description:
          'thread: the plugin runs in a worker thread of its own, so a plugin that blocks or crashes delays or stops only itself (events reach it as structured clones; it shares no module state with other sinks). main: on the main thread, beside the other sinks, for a plugin that must share a module singleton with them.',
      }),
    ),
    ...SinkQueueFields,
  },
  Strict,
);

export const Sink = Type.Union([ConsoleSink, FileSink, WebhookSink, WavSink, PluginSink]);
export type SinkConfig = Static<typeof Sink>;
export type ConsoleSinkConfig = Static<typeof ConsoleSink>;
export type FileSinkConfig = Static<typeof FileSink>;
export type WebhookSinkConfig = Static<typeof WebhookSink>;
export type WavSinkConfig = Static<typeof WavSink>;
export type PluginSinkConfig = Static<typeof PluginSink>;

// ---------------------------------------------------------------- file

export const Pipeline = Type.Object(
  {
    label: Type.Optional(Type.String({ minLength: 1, description: 'Shown with each line of this pipeline (`me`, `them`).' })),
    speakers: Type.Optional(
      Type.Record(Type.String({ pattern: '^[A-Z]+$' }), Type.String({ minLength: 1 }), {
        additionalProperties: false,
        description:
          'Names for the speaker labels diarization gives (transcriber params speaker_labels: true), by label: { A: Alice, B: Bob }. ' +
          'Labels are capital letters as the service sends them (A, B, ...; UNKNOWN for an unattributed turn); a label not named here is kept.',
      }),
    ),
    source: Source,
    transcriber: Transcriber,
    sinks: Type.Array(Sink, { minItems: 1, description: 'Where the transcript goes; every sink gets every event.' }),
  },
  Strict,
);
export type PipelineConfig = Static<typeof Pipeline>;

export const Service = Type.Object(
  {
    http: Type.Optional(
      Type.Object(
        {
          host: Type.String({ minLength: 1, default: '127.0.0.1', description: 'Interface to listen on.' }),
          port: Type.Integer({ minimum: 0, maximum: 65535, default: 9464, description: '0: any free port.' }),
          captions: Type.Boolean({ default: true, description: 'Serve the live transcript too: /events (Server-Sent Events) and /captions (a page for OBS or a browser).' }),
        },
        { ...Strict, description: 'Serve /healthz and /metrics (and /events, /captions); off when absent.' },
      ),
    ),
    log: Type.Object(
      {
        level: Type.Union(
          ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l)),
          { default: 'info' },
        ),
        format: Type.Union([Type.Literal('auto'), Type.Literal('json'), Type.Literal('pretty')], {
          default: 'auto',
          description: 'auto: pretty on a terminal, JSON lines otherwise.',
        }),
      },
      { ...Strict, default: {} },
    ),
    shutdown_timeout_ms: Type.Integer({ minimum: 100, default: 20000, description: 'On SIGINT/SIGTERM, how long pipelines may drain before being stopped.' }),
    state_dir: Type.String({ minLength: 1, default: '.earshot', description: 'Spools and other state, relative to the pipeline file.' }),
  },
  { ...Strict, default: {} },
);
export type ServiceConfig = Static<typeof Service>;

export const PipelineFile = Type.Object(
  {
    version: Type.Literal(1, { description: 'The pipeline file format; this earshot reads version 1.' }),
    service: Service,
    // additionalProperties: a name outside the pattern must be an error, not a pipeline silently left out.
    pipelines: Type.Record(Type.String({ pattern: '^[A-Za-z0-9_-]+$' }), Pipeline, {
      minProperties: 1,
      additionalProperties: false,
      description: 'Pipelines by name (letters, digits, _ and -); each runs on its own.',
    }),
  },
  {
    ...Strict,
    // `x-` keys hold YAML anchors to share settings between pipelines (as in Compose files); earshot ignores them.
    patternProperties: { '^x-': {} },
    $id: 'https://earshot.dev/schema/pipeline-file-v1.json',
    title: 'earshot pipeline file',
  },
);
export type PipelineFileConfig = Static<typeof PipelineFile>;

/**
 * AssemblyAI Universal-Streaming v3: the wire protocol, shared by our client
 * (src/transport) and our emulator (src/serve). Facts from
 * shared/assemblyai-v3-protocol.md and the official `assemblyai` SDK 4.41.5.
 */

export const DEFAULT_STREAMING_URL = 'wss://streaming.assemblyai.com/v3/ws';

/** Each binary audio message must hold between 50 and 1000 ms of audio. */
export const MIN_CHUNK_MS = 50;
export const MAX_CHUNK_MS = 1000;
/** The service ends a session after three hours. */
export const MAX_SESSION_SECONDS = 3 * 60 * 60;

export type AudioEncoding = 'pcm_s16le' | 'pcm_mulaw' | 'opus' | 'ogg_opus' | 'aac';
export const AUDIO_ENCODINGS: readonly AudioEncoding[] = ['pcm_s16le', 'pcm_mulaw', 'opus', 'ogg_opus', 'aac'];

/** How a connection parameter travels in the query string. */
export type ParamKind = 'int' | 'number' | 'bool' | 'string' | 'string[]' | 'json' | 'enum';

export interface ParamSpec {
  readonly kind: ParamKind;
  readonly min?: number;
  readonly max?: number;
  readonly values?: readonly string[];
  /** Can be changed mid-session with UpdateConfiguration. */
  readonly live?: boolean;
  readonly deprecated?: string;
}

/** Every connection parameter the API accepts, by its API name. */
export const CONNECTION_PARAMS: Readonly<Record<string, ParamSpec>> = {
  sample_rate: { kind: 'int', min: 1 },
  encoding: { kind: 'enum', values: AUDIO_ENCODINGS },
  format_turns: { kind: 'bool', live: true },
  end_of_turn_confidence_threshold: { kind: 'number', min: 0, max: 1, live: true },
  min_turn_silence: { kind: 'int', min: 0, live: true },
  min_end_of_turn_silence_when_confident: { kind: 'int', min: 0, deprecated: 'min_turn_silence' },
  max_turn_silence: { kind: 'int', min: 0, live: true },
  vad_threshold: { kind: 'number', min: 0, max: 1, live: true },
  keyterms_prompt: { kind: 'string[]', live: true },
  prompt: { kind: 'string', live: true },
  agent_context: { kind: 'string', live: true },
  speech_model: {
    kind: 'enum',
    values: [
      'universal-streaming-english',
      'universal-streaming-multilingual',
      'u3-rt-pro',
      'u3-rt-pro-beta-1',
      'whisper-rt',
      'universal-3-5-pro',
      'universal-3-6',
      'universal-3-6-pro',
      'u3-pro',
    ],
  },
  language_codes: { kind: 'string[]', live: true },
  language_code: { kind: 'string', deprecated: 'language_codes' },
  language_detection: { kind: 'bool' },
  domain: { kind: 'string' },
  inactivity_timeout: { kind: 'int', min: 5, max: 3600 },
  session_heartbeat: { kind: 'bool', live: true },
  acknowledge_silence: { kind: 'bool', live: true },
  speaker_labels: { kind: 'bool' },
  max_speakers: { kind: 'int', min: 1, max: 10 },
  /** The service rejects values outside 0..24 h and clamps others to 120..300 s (SDK 4.41.5 docs). */
  speaker_labels_revision_interval_ms: { kind: 'int', min: 0, max: 86_400_000 },
  filter_profanity: { kind: 'bool', live: true },
  redact_pii: { kind: 'bool' },
  redact_pii_policies: { kind: 'json' },
  redact_pii_sub: { kind: 'enum', values: ['entity_name', 'hash'] },
  include_partial_turns: { kind: 'bool' },
  continuous_partials: { kind: 'bool' },
  interruption_delay: { kind: 'int', min: 0, live: true },
  turn_left_pad_ms: { kind: 'int', min: 0, live: true },
  mode: { kind: 'string' },
  voice_focus: { kind: 'string' },
  voice_focus_threshold: { kind: 'number', min: 0, max: 1 },
  webhook_url: { kind: 'string' },
  webhook_auth_header_name: { kind: 'string' },
  webhook_auth_header_value: { kind: 'string' },
  llm_gateway: { kind: 'json' },
  /** Sent by the SDK (customerSupportAudioCapture) under this underscore name. */
  _customer_support_audio_capture: { kind: 'bool' },
};

/** Parameters UpdateConfiguration may carry. */
export const LIVE_PARAMS: readonly string[] = Object.entries(CONNECTION_PARAMS)
  .filter(([, spec]) => spec.live === true)
  .map(([name]) => name);

export type ConnectionParamValue = string | number | boolean | readonly string[] | Record<string, unknown>;
export type ConnectionParams = Readonly<Record<string, ConnectionParamValue>>;

// ---- client -> server (text frames) ----
export interface TerminateMessage { type: 'Terminate' }
export interface ForceEndpointMessage { type: 'ForceEndpoint' }
export interface KeepAliveMessage { type: 'KeepAlive' }
export interface UpdateConfigurationMessage { type: 'UpdateConfiguration'; [param: string]: unknown }
export type ClientMessage = TerminateMessage | ForceEndpointMessage | KeepAliveMessage | UpdateConfigurationMessage;

// ---- server -> client (text frames) ----
export interface BeginMessage { type: 'Begin'; id: string; expires_at: number }

export interface TurnWord {
  start: number;
  end: number;
  confidence: number;
  text: string;
  word_is_final: boolean;
  speaker?: string;
}

export interface TurnMessage {
  type: 'Turn';
  turn_order: number;
  turn_is_formatted: boolean;
  end_of_turn: boolean;
  transcript: string;
  end_of_turn_confidence: number;
  words: TurnWord[];
  language_code?: string;
  language_confidence?: number;
  speaker_label?: string;
  /** "" on partials; equals `transcript` on end-of-turn messages (docs, message sequence). */
  utterance?: string;
}

export interface TerminationMessage {
  type: 'Termination';
  audio_duration_seconds: number;
  session_duration_seconds: number;
}

/** Sent by Universal-3 Pro models only (docs, message sequence). */
export interface SpeechStartedMessage { type: 'SpeechStarted'; timestamp: number; confidence?: number }
export interface ErrorMessage { type: 'Error'; error_code?: number; error: string }
export interface WarningMessage { type: 'Warning'; warning_code: number; warning: string }
export interface HeartbeatMessage {
  type: 'Heartbeat';
  total_audio_received_ms: number;
  total_duration_ms: number;
  realtime_factor: number;
  max_speech_probability: number;
}
export interface SilenceMessage { type: 'Silence'; start_ms: number; end_ms: number }
/** Diarization revised the speakers of earlier turns (speaker_labels). */
export interface SpeakerRevisionMessage {
  type: 'SpeakerRevision';
  revisions: { turn_order: number; speaker_label?: string; words?: TurnWord[] }[];
}
/** The LLM gateway's answer for a turn (llm_gateway). */
export interface LLMGatewayResponseMessage { type: 'LLMGatewayResponse'; turn_order: number; transcript?: string; data?: unknown }

export type ServerMessage =
  | BeginMessage
  | TurnMessage
  | TerminationMessage
  | SpeechStartedMessage
  | ErrorMessage
  | WarningMessage
  | HeartbeatMessage
  | SilenceMessage
  | SpeakerRevisionMessage
  | LLMGatewayResponseMessage;

/** Every server message type this client knows; anything else is logged once and ignored. */
export const SERVER_MESSAGE_TYPES: readonly ServerMessage['type'][] = [
  'Begin', 'Turn', 'Termination', 'SpeechStarted', 'Error', 'Warning', 'Heartbeat', 'Silence', 'SpeakerRevision', 'LLMGatewayResponse',
];

/** A message of a type this client does not know (a newer API): never fatal. */
export interface UnknownServerMessage { type: string; [field: string]: unknown }

/** Close codes the service uses, with the reason texts it sends. */
export const CloseCode = {
  Normal: 1000,
  PolicyViolation: 1008,
  ServerError: 3005,
  InputValidation: 3006,
  InputDuration: 3007,
  SessionExpired: 3008,
  TooManySessions: 3009,
  BadSampleRate: 4000,
  NotAuthorized: 4001,
  InsufficientFunds: 4002,
  PaidOnly: 4003,
  SessionNotFound: 4004,
  SessionExpiredV2: 4008,
  SessionClosed: 4010,
  RateLimited: 4029,
  UniqueSessionViolation: 4030,
  SessionTimeout: 4031,
  AudioTooShort: 4032,
  AudioTooLong: 4033,
  AudioTooSmall: 4034,
  BadSchema: 4101,
  TooManyStreams: 4102,
  Reconnected: 4103,
} as const;

export interface CloseCodeInfo {
  readonly meaning: string;
  /** true: retrying cannot help (bad key, no balance, bad parameters, a client bug). */
  readonly permanent: boolean;
}

/** How our client treats each code; 1008 depends on its reason (see classifyClose). */
export const CLOSE_CODES: Readonly<Record<number, CloseCodeInfo>> = {
  1000: { meaning: 'normal close', permanent: false },
  1001: { meaning: 'server going away', permanent: false },
  1006: { meaning: 'connection lost without a close frame', permanent: false },
  1011: { meaning: 'server internal error', permanent: false },
  1012: { meaning: 'server restarting', permanent: false },
  1013: { meaning: 'try again later', permanent: false },
  3005: { meaning: 'server error', permanent: false },
  3006: { meaning: 'invalid message or parameter (a client bug)', permanent: true },
  3007: { meaning: 'audio chunk duration or transmission rate violation', permanent: false },
  3008: { meaning: 'maximum session duration exceeded', permanent: false },
  3009: { meaning: 'too many concurrent sessions', permanent: false },
  4000: { meaning: 'sample rate must be a positive integer', permanent: true },
  4001: { meaning: 'not authorized (missing or invalid API key)', permanent: true },
  4002: { meaning: 'insufficient funds', permanent: true },
  4003: { meaning: 'feature requires a paid account', permanent: true },
  4004: { meaning: 'session not found', permanent: false },
  4008: { meaning: 'session expired', permanent: false },
  4010: { meaning: 'session closed', permanent: false },
  4029: { meaning: 'rate limited', permanent: false },
  4030: { meaning: 'session handled by another socket', permanent: false },
  4031: { meaning: 'session idle for too long', permanent: false },
  4032: { meaning: 'audio too short', permanent: true },
  4033: { meaning: 'audio too long', permanent: true },
  4034: { meaning: 'audio too small to transcode', permanent: true },
  4101: { meaning: 'bad schema (invalid message or parameter)', permanent: true },
  4102: { meaning: 'too many streams', permanent: false },
  4103: { meaning: 'session reconnected elsewhere', permanent: false },
};

export const REASONS = {
  missingAuth: 'Unauthorized Connection: Missing Authorization header',
  invalidAuth: 'Unauthorized Connection: Invalid API key',
  /** Our wording (the service's is unverified): a temporary token unknown, used or expired. */
  invalidToken: 'Unauthorized Connection: Invalid or expired temporary token',
  tooManySessions: 'Unauthorized Connection: Too many concurrent sessions',
  sessionExpired: 'Session Expired: Maximum session duration exceeded',
  serverError: 'Session Cancelled: An error occurred',
  seeErrorMessage: 'See Error message for details',
} as const;

/** Close reasons are capped at 123 bytes by the WebSocket protocol. */
export const MAX_CLOSE_REASON_BYTES = 123;

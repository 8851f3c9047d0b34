/**
 * Connection parameters go on the wire under their API names, encoded as the
 * official SDK encodes them (numbers and booleans as text, lists and objects
 * as JSON): the SDK's own URL builder is the reference.
 */
import { expect } from 'chai';
import { StreamingTranscriber } from 'assemblyai';
import { CONNECTION_PARAMS } from '../../src/transport/protocol.js';
import { sessionUrl } from '../../src/transport/v3-session.js';
import { endpointOf, redactUrl } from '../../src/transport/errors.js';

const BASE = 'wss://streaming.assemblyai.com/v3/ws';

/** Every parameter (API name -> value) and the SDK's option for it. */
const PARAMS: [string, string, unknown][] = [
  ['sample_rate', 'sampleRate', 16000],
  ['encoding', 'encoding', 'pcm_s16le'],
  ['format_turns', 'formatTurns', true],
  ['end_of_turn_confidence_threshold', 'endOfTurnConfidenceThreshold', 0.7],
  ['min_turn_silence', 'minTurnSilence', 160],
  ['max_turn_silence', 'maxTurnSilence', 2400],
  ['vad_threshold', 'vadThreshold', 0.4],
  ['keyterms_prompt', 'keytermsPrompt', ['earshot', 'Universal-Streaming']],
  ['prompt', 'prompt', 'A weekly meeting & its notes'],
  ['agent_context', 'agentContext', 'support call'],
  ['speech_model', 'speechModel', 'universal-streaming-multilingual'],
  ['language_codes', 'languageCodes', ['en', 'es']],
  ['language_code', 'languageCode', 'en'],
  ['language_detection', 'languageDetection', true],
  ['domain', 'domain', 'medical'],
  ['inactivity_timeout', 'inactivityTimeout', 30],
  ['session_heartbeat', 'sessionHeartbeat', true],
  ['acknowledge_silence', 'acknowledgeSilence', false],
  ['speaker_labels', 'speakerLabels', true],
  ['max_speakers', 'maxSpeakers', 3],
  ['speaker_labels_revision_interval_ms', 'speakerLabelsRevisionIntervalMs', 500],
  ['filter_profanity', 'filterProfanity', true],
  ['redact_pii', 'redactPii', true],
  ['redact_pii_policies', 'redactPiiPolicies', ['person_name', 'phone_number']],
  ['redact_pii_sub', 'redactPiiSub', 'hash'],
  ['include_partial_turns', 'includePartialTurns', false],
  ['continuous_partials', 'continuousPartials', true],
  ['interruption_delay', 'interruptionDelay', 200],
  ['turn_left_pad_ms', 'turnLeftPadMs', 100],
  ['mode', 'mode', 'fast'],
  ['voice_focus', 'voiceFocus', 'near'],
  ['voice_focus_threshold', 'voiceFocusThreshold', 0.5],
  ['webhook_url', 'webhookUrl', 'https://example.com/hook?x=1'],
  ['webhook_auth_header_name', 'webhookAuthHeaderName', 'X-Auth'],
  ['webhook_auth_header_value', 'webhookAuthHeaderValue', 'secret value'],
  ['llm_gateway', 'llmGateway', { model: 'claude', prompt: 'Summarise' }],
  ['_customer_support_audio_capture', 'customerSupportAudioCapture', true],
];

const sorted = (url: string): [string, string][] => [...new URL(url).searchParams.entries()].sort(([a], [b]) => a.localeCompare(b));

describe('v3 session URL', () => {
  it('sends every connection parameter by its API name, encoded exactly as the official SDK does', () => {
    const named = new Set(PARAMS.map(([name]) => name));
    for (const name of Object.keys(CONNECTION_PARAMS).filter((n) => n !== 'min_end_of_turn_silence_when_confident')) {
      expect(named.has(name), `${name} is covered`).to.equal(true);
    }
    const ours = sessionUrl(BASE, Object.fromEntries(PARAMS.map(([name, , value]) => [name, value])) as never, 'temp-token');
    const warn = console.warn;
    console.warn = () => undefined; // the SDK warns about the support-capture and deprecated options
    let theirs: string;
    try {
      const sdk = new StreamingTranscriber({ websocketBaseUrl: BASE, token: 'temp-token', ...Object.fromEntries(PARAMS.map(([, option, value]) => [option, value])) });
      theirs = (sdk as unknown as { connectionUrl(): URL }).connectionUrl().toString();
    } finally {
      console.warn = warn;
    }
    expect(sorted(ours)).to.deep.equal(sorted(theirs));
  });

  it('keeps credentials out of what people read: the token is redacted, messages show the endpoint alone', () => {
    const url = sessionUrl('wss://user:pw@streaming.assemblyai.com/v3/ws', { sample_rate: 16000 }, 'temp-token');
    expect(redactUrl(url)).to.not.include('temp-token').and.to.not.include('pw');
    expect(endpointOf(url)).to.equal('wss://streaming.assemblyai.com/v3/ws');
  });
});

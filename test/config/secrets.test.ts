/** Secrets: redacted for echoing a config, listed for scrubbing logs, never shown in messages. */
import { expect } from 'chai';
import { loadPipelineFile, loadPipelineText, redactConfig, REDACTED, secretValues } from '../../src/config/load.js';
import type { WebhookSinkConfig } from '../../src/config/schema.js';
import { FIXTURES } from './fixture-files.js';

const ENV = {
  ASSEMBLYAI_API_KEY: 'test-api-key-0123456789',
  ASSEMBLYAI_TOKEN: 'temporary-token-abcdef',
  METRICS_PORT: '9470',
  WEBHOOK_SECRET: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
  HOOK_TOKEN: 'hook-bearer-token-42',
};
const SECRETS = ['test-api-key-0123456789', 'temporary-token-abcdef', 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 'Bearer hook-bearer-token-42', 'hunter2hunter2'];

describe('config: secrets', () => {
  it('redacts api_key, token, webhook secrets, sensitive headers and plugin options, and nothing else', async () => {
    const { config } = await loadPipelineFile(`${FIXTURES}valid/every-type.yaml`, { env: ENV });
    const redacted = redactConfig(config);
    const shown = JSON.stringify(redacted);
    for (const secret of SECRETS) expect(shown).to.not.include(secret);

    expect(redacted.pipelines.them!.transcriber).to.deep.include({ api_key: REDACTED, url: 'wss://streaming.eu.assemblyai.com/v3/ws' });
    expect(redacted.pipelines.replay!.transcriber).to.deep.include({ token: REDACTED });
    const webhook = redacted.pipelines.them!.sinks[2] as WebhookSinkConfig;
    expect(webhook.secret).to.equal(REDACTED);
    expect(webhook.headers).to.deep.equal({ Authorization: REDACTED, 'X-Team': 'earshot' });
    expect(redacted.pipelines.replay!.sinks[0]).to.deep.include({ options: { channel: '#captions', password: REDACTED } });
    // Everything else is untouched, and the original is not modified.
    expect(redacted.pipelines.me).to.deep.equal(config.pipelines.me);
    expect((config.pipelines.them!.sinks[2] as WebhookSinkConfig).secret).to.equal(ENV.WEBHOOK_SECRET);
  });

  it('lists the secret values, longest first, for a logger to scrub', async () => {
    const { config } = await loadPipelineFile(`${FIXTURES}valid/every-type.yaml`, { env: ENV });
    const values = secretValues(config);
    expect([...values].sort()).to.deep.equal([...SECRETS].sort());
    expect(values.map((v) => v.length)).to.deep.equal(values.map((v) => v.length).sort((a, b) => b - a));
  });

  it('redacts credentials inside URLs and sensitive connection parameters', () => {
    const text = [
      'version: 1',
      'pipelines:',
      '  p:',
      '    source: { type: synthetic }',
      '    transcriber:',
      '      type: assemblyai',
      '      url: "wss://proxy.example.com/v3/ws?token=tok%2Fen-123456&region=eu"',
      '      params: { webhook_url: "https://user:pa55word-xyz@hooks.example.com/t", webhook_auth_header_name: X-Auth, webhook_auth_header_value: header-secret-99 }',
      '    sinks: [{ type: console }]',
    ].join('\n');
    const { config } = loadPipelineText(text, 'test.yaml', {});
    const transcriber = redactConfig(config).pipelines.p!.transcriber;
    expect(transcriber).to.deep.include({
      url: 'wss://proxy.example.com/v3/ws?token=[redacted]&region=eu',
      params: {
        webhook_url: 'https://user:[redacted]@hooks.example.com/t',
        webhook_auth_header_name: 'X-Auth',
        webhook_auth_header_value: REDACTED,
      },
    });
    expect(secretValues(config)).to.have.members(['tok%2Fen-123456', 'tok/en-123456', 'pa55word-xyz', 'header-secret-99']);
  });

  it('never repeats a secret in a message, even one given in the wrong field', () => {
    const text =
      'version: 1\npipelines:\n  p:\n    source: { type: synthetic }\n    transcriber: { type: assemblyai, api_key: 12345678901, url: "${ASSEMBLYAI_API_KEY}" }\n    sinks: [{ type: webhook, url: "${WEBHOOK_SECRET}" }]\n';
    let messages = '';
    try {
      loadPipelineText(text, 'test.yaml', ENV);
    } catch (error) {
      messages = (error as Error).message;
    }
    expect(messages).to.include('must be a string, got a number');
    expect(messages).to.include('must be a ws:// or wss:// URL, got "[redacted]"');
    for (const secret of ['12345678901', ENV.ASSEMBLYAI_API_KEY, ENV.WEBHOOK_SECRET]) expect(messages).to.not.include(secret);
  });
});

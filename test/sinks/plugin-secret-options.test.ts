/** Which plugin options are secret: what the plugin's own schema marks x-secret or writeOnly, at any depth. */
import { expect } from 'chai';
import { secretOptionValues } from '../../src/sinks/plugin-options.js';

describe('plugin options marked secret', () => {
  it('finds values under x-secret and writeOnly, in nested objects, arrays, maps and schema branches', () => {
    const schema = {
      type: 'object',
      properties: {
        room: { type: 'string' },
        room_code: { type: 'string', 'x-secret': true },
        bot: { type: 'object', properties: { pin: { type: 'integer', writeOnly: true }, name: { type: 'string' } } },
        targets: { type: 'array', items: { type: 'object', properties: { dsn: { type: 'string', 'x-secret': true } } } },
        extra: { type: 'object', additionalProperties: { type: 'string', 'x-secret': true } },
        auth: { anyOf: [{ type: 'string', 'x-secret': true }, { type: 'object', 'x-secret': true }] },
      },
    };
    const options = {
      room: 'standup',
      room_code: 'code-123456',
      bot: { pin: 987654, name: 'earshot' },
      targets: [{ dsn: 'dsn-one-0001' }, { dsn: 'dsn-two-0002' }],
      extra: { anything: 'extra-secret-1' },
      auth: { user: 'bob-the-user', password: 'pw-0000001' },
    };
    expect(secretOptionValues(schema, options).sort()).to.deep.equal(
      ['code-123456', '987654', 'dsn-one-0001', 'dsn-two-0002', 'extra-secret-1', 'bob-the-user', 'pw-0000001'].sort(),
    );
  });

  it('finds nothing when the schema marks nothing, or the option is not given', () => {
    expect(secretOptionValues({ type: 'object', properties: { path: { type: 'string' } } }, { path: 'notes.md' })).to.deep.equal([]);
    expect(secretOptionValues({ type: 'object', properties: { key: { type: 'string', 'x-secret': true } } }, {})).to.deep.equal([]);
  });
});

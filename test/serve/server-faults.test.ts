import { expect } from 'chai';
import { V3TestClient } from '../support/v3-test-client.js';
import { formatFault, parseFault, FaultSyntaxError, type ServerFault } from '../../src/serve/faults.js';
import { REASONS } from '../../src/transport/protocol.js';
import { CHUNKS_100MS, closeServers, nextClosed, sleep, startServer } from './helpers.js';

const faultParam = (...faults: string[]): string => faults.map((fault) => `earshot_fault=${encodeURIComponent(fault)}`).join('&');

describe('earshot serve: fault injection', function () {
  this.timeout(10000);
  afterEach(closeServers);

  it('parses and prints every fault form, and refuses bad ones naming what is valid', () => {
    const forms = ['drop:1500', 'drop-random:500-3000:42', 'close:1200:3005:Session Cancelled: An error occurred', 'malformed-json:100', 'unknown-message:250', 'delay-begin:800', 'ignore-terminate', 'drop:100@1,3'];
    for (const form of forms) expect(formatFault(parseFault(form))).to.equal(form);
    expect(parseFault('drop:100@1,3')).to.deep.equal({ kind: 'drop', afterMs: 100, sessions: [1, 3] });
    expect(parseFault('close:10:4001')).to.deep.equal({ kind: 'close', afterMs: 10, code: 4001, reason: '' });
    for (const bad of ['explode:1', 'drop', 'drop:soon', 'drop-random:900-100', 'close:10:1006', 'ignore-terminate:5']) {
      expect(() => parseFault(bad), bad).to.throw(FaultSyntaxError, /Valid forms: drop:MS, drop-random:MIN-MAX\[:SEED\]/);
    }
  });

  it('drop: destroys the socket without a close frame after N ms', async () => {
    const server = await startServer({ faults: [{ kind: 'drop', afterMs: 300 }] });
    const closed = nextClosed(server);
    const client = await V3TestClient.begin(server.url);
    const close = await client.waitClosed();
    expect(close.code).to.equal(1006);
    expect(close.atMs).to.be.within(280, 1500);
    expect(client.types()).to.deep.equal(['Begin']);
    expect(await closed).to.include({ code: 1006, initiator: 'drop' });
  });

  it('drop-random: drops each session at a time in [min, max] drawn from a seeded sequence', async () => {
    const fault: ServerFault = { kind: 'drop-random', minMs: 200, maxMs: 600, seed: 7 };
    const plannedTimes = async (): Promise<number[]> => {
      const server = await startServer({ faults: [fault] });
      const times: number[] = [];
      for (let i = 0; i < 3; i++) {
        const client = await V3TestClient.begin(server.url);
        const planned = server.sessions()[0]?.faults.timed[0]?.atMs ?? -1;
        times.push(planned);
        const close = await client.waitClosed();
        expect(close.code).to.equal(1006);
        expect(close.atMs).to.be.within(planned - 20, planned + 1000);
      }
      return times;
    };
    const first = await plannedTimes();
    for (const time of first) expect(time).to.be.within(200, 600);
    expect(new Set(first).size).to.be.greaterThan(1);
    expect(await plannedTimes()).to.deep.equal(first);
  });

  it('close: sends an Error frame then closes with the given code and reason', async () => {
    const server = await startServer({ faults: [parseFault('close:200:3005:Session Cancelled: An error occurred')] });
    const client = await V3TestClient.begin(server.url);
    const close = await client.waitClosed();
    expect(close).to.deep.include({ code: 3005, reason: REASONS.serverError });
    expect(client.messages('Error')).to.deep.equal([{ type: 'Error', error_code: 3005, error: REASONS.serverError }]);
    expect(close.atMs).to.be.within(180, 1500);
  });

  it('close with a 1xxx code: a bare close, no Error frame', async () => {
    const server = await startServer({ faults: [parseFault('close:100:1011:internal')] });
    const client = await V3TestClient.begin(server.url);
    expect(await client.waitClosed()).to.deep.include({ code: 1011, reason: 'internal' });
    expect(client.types()).to.deep.equal(['Begin']);
  });

  it('malformed-json and unknown-message: odd frames, and the session carries on', async () => {
    const server = await startServer({ faults: [parseFault('malformed-json:100'), parseFault('unknown-message:150')] });
    const client = await V3TestClient.begin(server.url);
    await client.waitFor((m) => m.type === 'EarshotInjectedUnknown');
    const odd = client.frames.find((frame) => frame.message === undefined);
    expect(odd?.raw).to.equal('{"type":"Turn","turn_order":');
    for (const chunk of CHUNKS_100MS.slice(0, 20)) client.sendAudio(chunk);
    client.sendJson({ type: 'Terminate' });
    expect((await client.waitClosed()).code).to.equal(1000);
    expect(client.types()).to.deep.equal(['Begin', '<not json>', 'EarshotInjectedUnknown', ...client.types().slice(3, -1), 'Termination']);
  });

  it('delay-begin: Begin comes after N ms', async () => {
    const server = await startServer({ faults: [parseFault('delay-begin:400')] });
    const client = await V3TestClient.connect(server.url);
    await client.waitForType('Begin');
    expect(client.frames[0]?.atMs).to.be.within(380, 1500);
    client.close();
  });

  it('ignore-terminate: no Termination ever; the session stays open until the client leaves', async () => {
    const server = await startServer({ faults: [{ kind: 'ignore-terminate' }] });
    const closed = nextClosed(server);
    const client = await V3TestClient.begin(server.url);
    for (const chunk of CHUNKS_100MS.slice(0, 20)) client.sendAudio(chunk);
    client.sendJson({ type: 'Terminate' });
    await sleep(800);
    expect(client.messages('Termination')).to.deep.equal([]);
    expect(client.isClosed()).to.equal(false);
    client.close();
    expect(await closed).to.include({ initiator: 'client', code: 1005, terminationSent: false });
  });

  it('takes faults per connection from the earshot_fault query parameter, and refuses bad ones with 3006', async () => {
    const server = await startServer();
    const client = await V3TestClient.begin(server.url, { rawQuery: faultParam('close:100:4001:Not Authorized') });
    expect(server.sessions()[0]?.params).to.not.have.property('earshot_fault');
    expect(await client.waitClosed()).to.deep.include({ code: 4001, reason: 'Not Authorized' });
    const bad = await V3TestClient.connect(server.url, { rawQuery: faultParam('drop:later') });
    const close = await bad.waitClosed();
    expect(close.code).to.equal(3006);
    expect(bad.messages('Error')[0]?.error).to.match(/^Input Validation Error: earshot_fault: invalid fault "drop:later"/);
  });

  it('limits a server fault to the sessions named after @, and setFaults() changes faults at run time', async () => {
    const server = await startServer({ faults: [parseFault('drop:150@1')] });
    const first = await V3TestClient.begin(server.url);
    const second = await V3TestClient.begin(server.url);
    expect((await second.waitClosed()).code).to.equal(1006);
    await sleep(200);
    expect(first.isClosed()).to.equal(false);
    server.setFaults([parseFault('close:50:3005:later')]);
    const third = await V3TestClient.begin(server.url);
    expect((await third.waitClosed()).code).to.equal(3005);
    expect(first.isClosed()).to.equal(false);
    first.close();
  });

  it('dropAll() and closeAll() reach every open session, and each close is reported with its code', async () => {
    const server = await startServer();
    const clients = [await V3TestClient.begin(server.url), await V3TestClient.begin(server.url)];
    const reported: number[] = [];
    server.on('session-closed', (info) => reported.push(info.code));
    expect(server.dropAll()).to.equal(2);
    expect((await Promise.all(clients.map((c) => c.waitClosed()))).map((c) => c.code)).to.deep.equal([1006, 1006]);
    const more = [await V3TestClient.begin(server.url), await V3TestClient.begin(server.url)];
    expect(server.closeAll(3005, REASONS.serverError)).to.equal(2);
    for (const client of more) {
      expect(await client.waitClosed()).to.deep.include({ code: 3005, reason: REASONS.serverError });
      expect(client.messages('Error')[0]).to.deep.equal({ type: 'Error', error_code: 3005, error: REASONS.serverError });
    }
    expect(reported).to.deep.equal([1006, 1006, 3005, 3005]);
    expect(server.sessions()).to.deep.equal([]);
  });
});

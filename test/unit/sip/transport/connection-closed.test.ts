import { afterEach, describe, expect, it } from 'vitest';
import type { ConnectionClosed } from '../../../../src/sip/transport/index.js';
import { TransportLayer } from '../../../../src/sip/transport/transport-layer.js';
import type { InboundMessage } from '../../../../src/sip/transport/types.js';
import { Collector, sipRequest, tcpClient } from './support.js';

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

/** The seam that tells the B2BUA a TCP connection went (src/b2bua/call-reaper.ts). */
describe('TransportLayer.onConnectionClosed', () => {
  it('names the connection a message came on, and says the peer closed it or we did', async () => {
    const t = new TransportLayer({ tcpIdleTimeoutMs: 200 });
    cleanup.push(() => t.close());
    const [local] = await t.listen([{ protocol: 'tcp', address: '127.0.0.1', port: 0 }]);
    const messages = new Collector<InboundMessage>();
    const closes = new Collector<ConnectionClosed>();
    t.onMessage(messages.push);
    t.onConnectionClosed(closes.push);

    const peer = await tcpClient(local!.port);
    peer.on('error', () => {});
    peer.write(sipRequest());
    const [first] = await messages.wait(1);
    peer.end();
    const [gone] = await closes.wait(1);
    expect(gone).toEqual({ connectionId: first!.flow.connectionId, reason: 'peer' });

    // A connection our idle timer closes is reported as ours (`idle`), not as the peer going away.
    const quiet = await tcpClient(local!.port);
    quiet.on('error', () => {});
    quiet.write(sipRequest());
    const [, second] = await messages.wait(2);
    const [, idle] = await closes.wait(2);
    expect(idle).toEqual({ connectionId: second!.flow.connectionId, reason: 'idle' });
    quiet.destroy();
  });
});

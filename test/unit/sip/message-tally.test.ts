import { describe, expect, it } from 'vitest';
import {
  methodLabel,
  snapshotTally,
  tallyRequest,
  tallyResponse,
  tallyRows,
  tallySent,
  tallyTransactionCreated,
  tallyTransactionTerminated,
} from '../../../src/sip/message-tally.js';

describe('message tally (counts the call path keeps for the metrics)', () => {
  it('counts since a snapshot, by label, folding what peers choose', () => {
    const since = snapshotTally();
    tallyRequest('in', 'udp', 'INVITE');
    tallyRequest('in', 'udp', 'INVITE');
    tallyRequest('out', 'tcp', 'BYE');
    tallyRequest('in', 'udp', 'XYZZY');
    tallyRequest('in', 'udp', 'PLUGH');
    tallyResponse('out', 'udp', 180);
    tallyResponse('in', 'udp', 699);
    tallyResponse('in', 'udp', 999);
    tallyResponse('in', 'udp', 42);
    tallySent('udp', 500, false);
    tallySent('udp', 300, true);
    tallyTransactionCreated('server', 'INVITE');
    tallyTransactionCreated('client', 'FROB');
    tallyTransactionTerminated('server', 'timeout');
    const rows = tallyRows(since).map((r) => r.join(' '));
    expect(rows.sort()).toEqual(
      [
        'requests in udp INVITE 2',
        'requests out tcp BYE 1',
        'requests in udp other 2',
        'responses out udp 1xx 1',
        'responses in udp 6xx 1',
        'responses in udp other 2',
        'bytes_sent udp   800',
        'raw_sent udp   1',
        'tx_created server INVITE  1',
        'tx_created client other  1',
        'tx_terminated server timeout  1',
      ].sort(),
    );
  });

  it('leaves out what did not change since the snapshot', () => {
    tallyRequest('in', 'udp', 'OPTIONS');
    const since = snapshotTally();
    expect(tallyRows(since)).toEqual([]);
    tallyRequest('in', 'udp', 'OPTIONS');
    expect(tallyRows(since)).toEqual([['requests', 'in', 'udp', 'OPTIONS', 1]]);
    // Without a snapshot: totals since the process started (at least the three above).
    const total = tallyRows().find((r) => r[0] === 'requests' && r[3] === 'OPTIONS');
    expect(total?.[4]).toBeGreaterThanOrEqual(2);
  });

  it('folds unknown methods so a peer cannot grow the label set', () => {
    expect(methodLabel('INVITE')).toBe('INVITE');
    expect(methodLabel('invite')).toBe('other');
    const since = snapshotTally();
    for (let i = 0; i < 1000; i++) tallyRequest('in', 'udp', `M${i}`);
    expect(tallyRows(since)).toEqual([['requests', 'in', 'udp', 'other', 1000]]);
  });
});

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { backlogShare, UdpBacklog } from '../../../src/app/udp-backlog.js';

// Lines as Linux writes them (proc(5)); 0100007F:3AD4 is 127.0.0.1:15060, rx_queue 0x00034C00 = 216,064.
const PROC_UDP = `   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
  150: 0100007F:3AD4 00000000:0000 07 00000000:00034C00 00:00000000 00000000     0        0 96543 2 0000000000000000 0
  151: 0100007F:3B42 00000000:0000 07 00000000:00001000 00:00000000 00000000     0        0 96544 2 0000000000000000 0
  152: 0200007F:3AD4 00000000:0000 07 00000000:00400000 00:00000000 00000000     0        0 96545 2 0000000000000000 0
  153: 00000000:13C4 00000000:0000 07 00000000:00200000 00:00000000 00000000     0        0 96546 2 0000000000000000 0
`;
const EIGHT_MIB = 8 * 1024 * 1024;

describe('backlogShare (/proc/net/udp)', () => {
  it('the fullest of our sockets, matched by address and port, as a share of its buffer', () => {
    const ours = [{ local: { address: '127.0.0.1', port: 15060 }, bufferBytes: EIGHT_MIB }];
    expect(backlogShare(PROC_UDP, ours)).toBeCloseTo(216_064 / EIGHT_MIB, 9);
    // 127.0.0.2:15060 is another socket (4 MiB queued): not ours.
    const both = [...ours, { local: { address: '127.0.0.1', port: 15170 }, bufferBytes: 4096 * 4 }];
    expect(backlogShare(PROC_UDP, both)).toBeCloseTo(0.25, 9);
  });

  it('a wildcard bind matches our port; a socket not in the table gives undefined; a full queue is 1', () => {
    expect(backlogShare(PROC_UDP, [{ local: { address: '0.0.0.0', port: 5060 }, bufferBytes: 1024 }])).toBe(
      1,
    );
    expect(backlogShare(PROC_UDP, [{ local: { address: '127.0.0.1', port: 5061 }, bufferBytes: 1024 }])).toBe(
      undefined,
    );
  });

  it('UdpBacklog reads the files asynchronously; unreadable files or no socket give undefined', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'stirgate-backlog-'));
    try {
      const file = join(dir, 'udp');
      await writeFile(file, PROC_UDP);
      const ours = [{ local: { address: '127.0.0.1', port: 15060 }, bufferBytes: EIGHT_MIB }];
      expect(await new UdpBacklog(() => ours, [file, join(dir, 'absent')]).read()).toBeCloseTo(
        216_064 / EIGHT_MIB,
        9,
      );
      expect(await new UdpBacklog(() => [], [file]).read()).toBeUndefined();
      expect(await new UdpBacklog(() => ours, [join(dir, 'absent')]).read()).toBeUndefined();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

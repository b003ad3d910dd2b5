// An ended call must be garbage as soon as it ends, although its transactions still wait (RFC 6026 Timers
// L and M, RFC 3261 Timer J: 64*T1, 32 s at the default T1) and keep the listeners the B2BUA gave them.
// Before this was fixed, every ended call (its dialogs, the B-leg ACK, ~5 KB) lived on for those 32 s
// through one closure: at 900 calls/s that was ~150 MB of heap for the GC to copy and mark.
//
// Counted directly: the live instances of the B2BUA's Call class, through the inspector's
// Runtime.queryObjects (what the DevTools "queryObjects" console function does), in this process.
import { Session } from 'node:inspector/promises';
import v8 from 'node:v8';
import vm from 'node:vm';
import { describe, expect, it } from 'vitest';
import { Call } from '../../src/b2bua/call.js';
import { signingElementYaml, startElement } from '../support/element.js';
import { freePort } from '../support/ports.js';
import { runSipp, scenarioPath, sippAvailable, startSippServer } from '../support/sipp.js';

const HAVE_SIPP = sippAvailable();
if (!HAVE_SIPP) console.warn('\n!!! SKIPPING call-retention: no sipp binary (apt-get install sip-tester)\n');

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

const CALLS = 200;

/** Live objects whose prototype is `proto`, after a full GC. */
async function liveInstances(proto: object): Promise<number> {
  await new Promise<void>((r) => setImmediate(r));
  gc();
  const session = new Session();
  session.connect();
  const g = globalThis as { __stirgateProbeProto?: object };
  g.__stirgateProbeProto = proto;
  try {
    const p = await session.post('Runtime.evaluate', { expression: 'globalThis.__stirgateProbeProto' });
    const found = await session.post('Runtime.queryObjects', { prototypeObjectId: p.result.objectId! });
    const n = await session.post('Runtime.callFunctionOn', {
      objectId: found.objects.objectId!,
      functionDeclaration: 'function () { return this.length; }',
      returnByValue: true,
    });
    return n.result.value as number;
  } finally {
    delete g.__stirgateProbeProto;
    session.disconnect();
  }
}

describe.skipIf(!HAVE_SIPP)('ended calls are not kept by their waiting transactions', () => {
  it(`${CALLS} signed calls: no Call object outlives its call while the transactions wait 64*T1`, async () => {
    const uas = await startSippServer({
      scenario: scenarioPath('basic/uas.xml'),
      transport: 'u1',
      calls: CALLS,
      timeoutS: 60,
    });
    const sipPort = await freePort('both');
    // Default timers: the wait states last 32 s, far longer than this test.
    const el = await startElement(signingElementYaml(uas.port), { port: sipPort });
    try {
      await uas.ready;
      const uac = await runSipp({
        scenario: scenarioPath('basic/uac.xml'),
        remote: `127.0.0.1:${sipPort}`,
        transport: 'u1',
        calls: CALLS,
        rate: 100,
        timeoutS: 60,
      });
      expect(uac.failed, uac.errorLog).toBe(0);
      expect(uac.successful).toBe(CALLS);
      const stats = el.app.stats();
      expect(stats.calls).toBe(0);
      expect(stats.dialogs).toBe(0);
      // Every call's A-leg INVITE and BYE server transactions are still waiting (Timers L and J).
      expect(stats.serverTransactions).toBeGreaterThanOrEqual(2 * CALLS);
      expect(await liveInstances(Call.prototype)).toBe(0);
    } finally {
      await uas.stop().catch(() => undefined);
      await el.stop();
    }
  }, 90_000);
});

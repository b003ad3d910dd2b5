// Soak: 10,000 signed calls through Stirgate at a moderate rate (SIPp UAC -> Stirgate originating trunk ->
// SIPp UAS, UDP). Every call must succeed on both sides, and afterwards no call, dialog or transaction may
// be left in the element's tables once the wait timers (64*T1) have run out.
import { describe, expect, it } from 'vitest';
import { signingElementYaml, startElement } from '../support/element.js';
import { freePort } from '../support/ports.js';
import { runSipp, scenarioPath, sippAvailable, startSippServer } from '../support/sipp.js';

const HAVE_SIPP = sippAvailable();
if (!HAVE_SIPP) console.warn('\n!!! SKIPPING soak: no sipp binary (apt-get install sip-tester)\n');

const CALLS = Number(process.env.STIRGATE_SOAK_CALLS ?? 10_000);
const RATE = 400;
// Default-like T1: a 10,000-call run on a busy 2-core box must not see spurious retransmissions.
const T1_MS = 250;

describe.skipIf(!HAVE_SIPP)('soak', () => {
  it(`${CALLS} signed calls leave nothing behind`, async () => {
    const uas = await startSippServer({
      scenario: scenarioPath('basic/uas.xml'),
      transport: 'u1',
      calls: CALLS,
      timeoutS: 120,
    });
    const sipPort = await freePort('both');
    const el = await startElement(
      signingElementYaml(
        uas.port,
        `sip:
  timers: { t1_ms: ${T1_MS}, t2_ms: 2000, t4_ms: 2500 }`,
      ),
      { port: sipPort },
    );
    try {
      await uas.ready;
      const uac = await runSipp({
        scenario: scenarioPath('basic/uac.xml'),
        remote: `127.0.0.1:${sipPort}`,
        transport: 'u1',
        calls: CALLS,
        rate: RATE,
        timeoutS: 120,
      });
      if (uac.failed > 0) {
        const u0 = await uas.stop();
        console.log('UAS', JSON.stringify(u0.stats), u0.errorLog?.slice(0, 4000));
      }
      expect(uac.failed, `${uac.errorLog?.slice(0, 3000)}\n${JSON.stringify(uac.stats)}`).toBe(0);
      expect(uac.successful).toBe(CALLS);
      const u = await uas.stop();
      expect(u.failed, u.errorLog).toBe(0);
      expect(u.successful).toBe(CALLS);
      const left = await el.drained(64 * T1_MS + 10_000);
      expect(left).toMatchObject({ calls: 0, dialogs: 0, clientTransactions: 0, serverTransactions: 0 });
    } finally {
      await uas.stop().catch(() => undefined);
      await el.stop();
    }
  }, 180_000);
});

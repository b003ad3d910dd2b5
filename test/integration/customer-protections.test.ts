// Issue 17, customer protections end to end with real SIPp: SIPp caller (127.0.0.2, customer acme) ->
// Stirgate originating trunk -> SIPp callee. (a) offered 3x its calls-per-second limit for 10 s, the
// customer is held at its limit (200s counted at the callee, 503s with Retry-After at the caller); (b) a
// destination in a class the customer may not call: 403 with the Reason; (c) a calling number on the
// do-not-originate list: 403; (d) with a reject block on the caller's number, a call to 911 goes through and
// a call to another number is refused.

import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalAdmissionCounters } from '../../src/b2bua/local-admission-counters.js';
import type { Block } from '../../src/policy/controls.js';
import { type Element, startElement } from '../support/element.js';
import { freePort } from '../support/ports.js';
import {
  runSipp,
  type SippResult,
  type SippServer,
  scenarioPath,
  sippAvailable,
  startSippServer,
} from '../support/sipp.js';

const HAVE_SIPP = sippAvailable();
if (!HAVE_SIPP)
  console.warn('\n!!! SKIPPING test/integration/customer-protections.test.ts: no sipp binary on PATH\n');

const CPS = 10;
const BURST = 5;
const OFFERED_CPS = 3 * CPS;
const OFFERED_S = 10;

function elementYaml(uasPort: number, policy: string): string {
  return `
listen:
  - { transport: udp, address: 127.0.0.1, port: {port} }
trunks:
  - name: acme-sbc
    role: originating
    match: { sources: [127.0.0.2/32] }
    route: callee
routes:
  - name: callee
    next_hops: [{ address: 127.0.0.1, port: ${uasPort}, transport: udp }]
customers:
  - name: acme
    trunks: [acme-sbc]
    numbers: ["1202555*"]
    limits: { cps: ${CPS}, burst: ${BURST}, max_concurrent: 1000 }
stir:
  dev_pki: { x5u_listen: "127.0.0.1:0" }
data_dir: {data_dir}
policy:
${policy}
`;
}

function describeRun(r: SippResult): string {
  return `exit ${r.exitCode}, ${r.successful} ok, ${r.failed} failed\n${(r.errorLog ?? '').slice(0, 2000)}\nargs: ${r.args.join(' ')}`;
}

/** One call expecting `status` (403, 503...) from Stirgate, with its messages. */
function refusedCall(element: Element, service: string, status: number): Promise<SippResult> {
  return runSipp({
    scenario: scenarioPath('reject/uac.xml'),
    remote: `127.0.0.1:${element.port}`,
    transport: 'u1',
    calls: 1,
    service,
    keys: { status: String(status) },
    traceMessages: true,
    timeoutS: 10,
  });
}

describe.skipIf(!HAVE_SIPP)('customer protections (SIPp -> Stirgate originating -> SIPp)', () => {
  let uas: SippServer;
  let element: Element;

  beforeAll(async () => {
    uas = await startSippServer({
      scenario: scenarioPath('basic/uas.xml'),
      transport: 'u1',
      calls: 10_000,
      timeoutS: 120,
    });
    await uas.ready;
    element = await startElement(
      elementYaml(uas.port, '  destination_classes: { high_risk: ["1900*", "1976*"] }'),
      { port: await freePort('both') },
    );
  });

  afterAll(async () => {
    await element?.stop();
    await uas?.stop();
  });

  it(`(a) offered ${OFFERED_CPS} calls/s for ${OFFERED_S} s, a customer limited to ${CPS} calls/s gets ${CPS} ± 10 %`, async () => {
    const calls = OFFERED_CPS * OFFERED_S;
    const r = await runSipp({
      scenario: scenarioPath('limits/uac.xml'),
      remote: `127.0.0.1:${element.port}`,
      transport: 'u1',
      calls,
      rate: OFFERED_CPS,
      concurrent: 200,
      service: '+13035550100',
      timeoutS: 15,
    });
    expect(r.timedOut, describeRun(r)).toBe(false);
    expect(r.successful + r.failed, describeRun(r)).toBe(calls);
    // The bucket starts full: BURST calls on top of CPS a second over the offered period.
    const acceptedCps = (r.successful - BURST) / OFFERED_S;
    expect(acceptedCps, describeRun(r)).toBeGreaterThanOrEqual(CPS * 0.9);
    expect(acceptedCps, describeRun(r)).toBeLessThanOrEqual(CPS * 1.1);
    // Every refusal was the rate limit (the scenario checked each 503 had a Retry-After).
    // Every admitted call has ended and given its concurrent slot back.
    expect((await element.drained(5_000)).calls).toBe(0);
    // A single process counts in place (a cluster worker would ask its primary).
    const counters = element.app.admission;
    expect(counters).toBeInstanceOf(LocalAdmissionCounters);
    const acme = (counters as LocalAdmissionCounters).figures().find((f) => f.customer === 'acme');
    expect(acme).toMatchObject({ concurrent: 0, refusals: { cps: r.failed } });
    console.log(
      `customer limits: ${calls} calls offered at ${OFFERED_CPS}/s, ${r.successful} answered (200), ${r.failed} refused (503): ${acceptedCps.toFixed(2)} calls/s over the burst of ${BURST} (limit ${CPS})`,
    );
  }, 30_000);

  it('(b) a destination in a class the customer may not call: 403 with the Reason', async () => {
    const r = await refusedCall(element, '+19005550123', 403);
    expect(r.successful, describeRun(r)).toBe(1);
    expect(r.messageLog).toMatch(/^Reason: SIP;cause=403;text="destination not permitted: high_risk"/m);
  });

  it('(d) with the caller blocked, a call to 911 goes through and a call to another number is refused', async () => {
    const blocked: Block = {
      id: 'b-1',
      match: { kind: 'calling', value: '12025550100' },
      action: 'reject',
      reason: 'robocall campaign',
      ticket: 'NOC-17',
      expires: null,
      actor: 'test',
      created: Date.now(),
    };
    element.app.controls.set({ version: 1, blocks: [blocked], limitOverrides: {} });
    const emergency = await runSipp({
      scenario: scenarioPath('basic/uac.xml'),
      remote: `127.0.0.1:${element.port}`,
      transport: 'u1',
      calls: 1,
      service: '911',
      timeoutS: 10,
    });
    expect(emergency.successful, describeRun(emergency)).toBe(1);
    const other = await refusedCall(element, '+13035550100', 403);
    expect(other.successful, describeRun(other)).toBe(1);
    expect(other.messageLog).toMatch(/^Reason: SIP;cause=403;text="blocked: robocall campaign"/m);
  });

  it('(c) a calling number on the do-not-originate list: 403', async () => {
    const dnoFile = join(element.dataDir, 'dno.txt');
    await writeFile(dnoFile, '# inbound-only numbers\n+12025550100\n');
    const dnoElement = await startElement(elementYaml(uas.port, `  dno_file: ${dnoFile}`), {
      port: await freePort('both'),
    });
    try {
      const r = await refusedCall(dnoElement, '+13035550100', 403);
      expect(r.successful, describeRun(r)).toBe(1);
      expect(r.messageLog).toMatch(
        /^Reason: SIP;cause=403;text="calling number on the do-not-originate list"/m,
      );
    } finally {
      await dnoElement.stop();
    }
  });
});

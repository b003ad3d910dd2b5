import { describe, expect, it } from 'vitest';
import {
  type HookOutcome,
  type InviteContext,
  type InviteHook,
  runHookChain,
} from '../../../src/b2bua/invite-hooks.js';
import type { TrunkRuntime } from '../../../src/b2bua/router.js';
import type { Logger } from '../../../src/log/logger.js';
import { invite } from './support.js';

function context(errors: unknown[] = []): InviteContext {
  const log = { error: (obj: unknown) => errors.push(obj) } as unknown as Logger;
  return {
    trunk: { name: 't', role: 'terminating' } as TrunkRuntime,
    aRequest: invite(['From: <sip:+12025550100@x>;tag=1']),
    flow: {
      protocol: 'udp',
      local: { address: '127.0.0.1', port: 5060 },
      remote: { address: '127.0.0.2', port: 5062 },
    },
    receivedAt: 0n,
    log,
    facts: {},
    onCallEnd: () => {},
  };
}

function hook(
  name: string,
  out: HookOutcome | (() => HookOutcome | Promise<HookOutcome>),
  ran?: string[],
): InviteHook {
  return {
    name,
    onInitialInvite: () => {
      ran?.push(name);
      return typeof out === 'function' ? out() : out;
    },
  };
}

const append = (value: string): HookOutcome => ({
  action: 'continue',
  edits: [{ op: 'append', name: 'x-hook', value }],
});

describe('runHookChain', () => {
  it('stays synchronous while every hook is, and keeps the edits in chain order', () => {
    const r = runHookChain([hook('one', append('1')), hook('two', append('2'))], context());
    expect(r).not.toBeInstanceOf(Promise);
    expect(r).toEqual({
      action: 'continue',
      edits: [
        { op: 'append', name: 'x-hook', value: '1' },
        { op: 'append', name: 'x-hook', value: '2' },
      ],
    });
  });

  it('switches to a promise at the first async hook and still runs the later ones in order', async () => {
    const ran: string[] = [];
    const r = runHookChain(
      [
        hook('sync', append('1'), ran),
        hook('async', () => Promise.resolve(append('2')), ran),
        hook('after', append('3'), ran),
      ],
      context(),
    );
    expect(r).toBeInstanceOf(Promise);
    const done = await r;
    expect(ran).toEqual(['sync', 'async', 'after']);
    expect(done.action === 'continue' && done.edits.map((e) => ('value' in e ? e.value : ''))).toEqual([
      '1',
      '2',
      '3',
    ]);
  });

  it('stops at the first reject and names the hook', async () => {
    const ran: string[] = [];
    const reject: HookOutcome = { action: 'reject', status: 403, cause: 'policy' };
    const r = await runHookChain(
      [
        hook('first', append('1'), ran),
        hook('deny', () => Promise.resolve(reject), ran),
        hook('never', append('3'), ran),
      ],
      context(),
    );
    expect(ran).toEqual(['first', 'deny']);
    expect(r).toEqual({ action: 'reject', status: 403, cause: 'policy', hook: 'deny' });
  });

  it('logs a hook that throws or rejects and goes on without its edits (a call is never dropped)', async () => {
    const errors: unknown[] = [];
    const ctx = context(errors);
    const r = await runHookChain(
      [
        hook('throws', () => {
          throw new Error('bug');
        }),
        hook('rejects', () => Promise.reject(new Error('async bug'))),
        hook('fine', append('ok')),
      ],
      ctx,
    );
    expect(r).toEqual({ action: 'continue', edits: [{ op: 'append', name: 'x-hook', value: 'ok' }] });
    expect(errors).toMatchObject([
      { hook: 'throws', event: 'hook_failed' },
      { hook: 'rejects', event: 'hook_failed' },
    ]);
  });
});

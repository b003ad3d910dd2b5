import { createResponse, generateTag } from '../sip/message/build.js';
import type { SipRequest } from '../sip/message/message.js';
import type { ServerTransaction } from '../sip/transaction/index.js';

/**
 * Answer a request that opens no dialog of ours (refusals, OPTIONS, in-dialog errors): a To tag on every
 * final answer (RFC 3261 §8.2.6.2), none on 100.
 */
export function respond(
  tx: ServerTransaction,
  req: SipRequest,
  status: number,
  reason?: string,
  headers?: readonly (readonly [string, string])[],
): void {
  const res = createResponse(req, status, reason, status > 100 ? { toTag: req.to.tag ?? generateTag() } : {});
  for (const [n, v] of headers ?? []) res.append(n, v);
  tx.respond(res);
}

import { ControlError, type ControlErrorCode } from '../control/control-error.js';
import { ApiError } from './api-error.js';
import type { RequestContext } from './router.js';

/** ADMIN-API.md "Errors": 400 malformed, 404 no such object, 409 conflict, 422 valid JSON, invalid content. */
const STATUS = {
  invalid_json: 400,
  invalid_body: 400,
  unknown_field: 400,
  missing_field: 400,
  invalid_field: 400,
  invalid_match: 400,
  invalid_number: 422,
  unknown_customer: 422,
  unknown_trunk: 422,
  expires_in_past: 422,
  invalid_limit: 422,
  block_not_found: 404,
  customer_not_found: 404,
  block_already_removed: 409,
} as const satisfies Record<ControlErrorCode, number>;

/** Runs a control plane change; its refusal becomes the API's error form with the field at fault. */
export async function controlAnswer<T>(change: () => Promise<T>): Promise<T> {
  try {
    return await change();
  } catch (err) {
    if (err instanceof ControlError) throw new ApiError(STATUS[err.code], err.code, err.message, err.path);
    throw err;
  }
}

/** The JSON body, or `undefined` when there is none (DELETE without a reason). */
export async function jsonBody(ctx: RequestContext): Promise<unknown> {
  const raw = (await ctx.body()).toString('utf8');
  if (raw.trim() === '') return undefined;
  try {
    return JSON.parse(raw) as unknown;
  } catch (err) {
    throw new ApiError(400, 'invalid_json', `the body is not JSON: ${(err as Error).message}`);
  }
}

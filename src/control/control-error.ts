import { StirgateError } from '../errors.js';

/**
 * Why the control plane refused a change (ADMIN-API.md "Bad input"); nothing was changed or audited. The admin
 * API answers each with its status (src/admin/control-status.ts) and `path`, the field at fault.
 *
 * - malformed (400): `invalid_json`, `invalid_body` (not an object), `unknown_field`, `missing_field`,
 *   `invalid_field` (wrong type, empty, too long, not one of the allowed values), `invalid_match` (not exactly
 *   one match kind)
 * - invalid content (422): `invalid_number` (not an E.164 number or prefix), `unknown_customer`,
 *   `unknown_trunk` (a block that would match nothing configured), `expires_in_past`, `invalid_limit`
 * - `block_not_found`, `customer_not_found` (404), `block_already_removed` (409)
 */
export type ControlErrorCode =
  | 'invalid_json'
  | 'invalid_body'
  | 'unknown_field'
  | 'missing_field'
  | 'invalid_field'
  | 'invalid_match'
  | 'invalid_number'
  | 'unknown_customer'
  | 'unknown_trunk'
  | 'expires_in_past'
  | 'invalid_limit'
  | 'block_not_found'
  | 'customer_not_found'
  | 'block_already_removed';

export class ControlError extends StirgateError<ControlErrorCode> {
  readonly path: string | undefined;

  constructor(code: ControlErrorCode, message: string, path?: string) {
    super(code, message);
    this.path = path;
  }
}

import { StirgateError } from '../../errors.js';

/** Stable codes for misuse of the transaction layer by its user. Protocol failures are events, not throws. */
export type TransactionErrorCode =
  | 'closed' // the layer was closed
  | 'invalid_request' // ACK/CANCEL through sendRequest, or a request the layer cannot send
  | 'invalid_response' // status outside 100-699, or a 2xx-only call with another status
  | 'no_local_address' // the listener is bound to a wildcard and no viaHost was configured
  | 'request_released'; // `request` read after the transaction dropped it (past its final response)

export class TransactionError extends StirgateError<TransactionErrorCode> {}

/**
 * The RFC 3261 §17 transaction layer. The TU sees `TransactionLayer` and the `ClientTransaction` /
 * `ServerTransaction` interfaces; the four state machines stay internal.
 */
export { type Capabilities, optionsResponse } from './options-response.js';
export {
  type Clock,
  DEFAULT_TIMER_CONFIG,
  nextCapped,
  nextTimerA,
  realClock,
  resolveTimers,
  type TimerConfig,
  TimerConfigError,
  type TimerConfigErrorCode,
  type TimerHandle,
  type TransactionTimers,
  type WaitTimer,
  waitTimer,
} from './timers.js';
export { TransactionError, type TransactionErrorCode } from './transaction-error.js';
export {
  type DropReason,
  methodLabel,
  type RetransmitReason,
  type StatelessReason,
  type TerminationCause,
  type TimeoutTimer,
  TRANSACTION_EVENT_NAMES,
  type TransactionEventMap,
  type TransactionEventName,
  type TransactionLabels,
} from './transaction-events.js';
export { TransactionLayer, type TransactionLayerOptions } from './transaction-layer.js';
export type {
  CancelOptions,
  ClientInviteState,
  ClientNonInviteState,
  ClientTransaction,
  ClientTransactionEvents,
  ClientTransactionState,
  ServerInviteState,
  ServerNonInviteState,
  ServerTransaction,
  ServerTransactionEvents,
  ServerTransactionState,
  TransactionEventSource,
  TransactionTransport,
  TransactionUser,
} from './types.js';

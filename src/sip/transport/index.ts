export { DEFAULT_SIP_PORT, responseTarget, type SendTarget } from './response-target.js';
export {
  type ConnectionCloseReason,
  type ConnectionEvent,
  type MessageEvent,
  TRANSPORT_EVENT_NAMES,
  type TransportEventMap,
  type TransportEventName,
} from './transport-events.js';
export {
  type ConnectionClosed,
  DEFAULT_TRANSPORT_LIMITS,
  TransportLayer,
  type Unsubscribe,
} from './transport-layer.js';
export {
  type Endpoint,
  type Flow,
  type InboundMessage,
  type InboundParseError,
  type ListenSpec,
  type Target,
  TransportError,
  type TransportErrorCode,
  type TransportLimits,
  type TransportProtocol,
} from './types.js';
export { stampReceived } from './via-received.js';

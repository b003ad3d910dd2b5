/** Public API of the SIP message layer (RFC 3261 §7, §19, §20, §25). */
export {
  createResponse,
  generateBranch,
  generateCallId,
  generateTag,
  type ResponseOptions,
  reasonPhrase,
} from './build.js';
export { SipParseError, type SipParseErrorCode } from './errors.js';
export {
  canonicalName,
  isMultiValue,
  isSingleValue,
  isToken,
  SINGLE_VALUE_HEADERS,
  splitHeaderValues,
  unicodeToWireText,
  wireTextToUnicode,
} from './headers.js';
export { displayName, SipMessage, SipRequest, SipResponse } from './message.js';
export { formatNameAddr, parseNameAddr, parseNameAddrList, withTag } from './name-addr.js';
export { formatParams } from './params.js';
export {
  DEFAULT_MESSAGE_LIMITS,
  frameLength,
  type MessageLimits,
  type ParseOptions,
  parseMessage,
  skipKeepAlive,
} from './parse.js';
export { parseContentLength, parseCSeq, parseMaxForwards } from './parse-values.js';
export { serializeHead, serializeMessage, startLine } from './serialize.js';
export type { CSeq, NameAddr, OtherUri, Params, SipHeader, SipUri, TelUri, Uri, Via } from './types.js';
export {
  formatUri,
  isSipUri,
  isTelUri,
  parseUri,
  unescapeUriPart,
  uriUserNumber,
  userParams,
  withoutUserParam,
  withUserParam,
} from './uri.js';
export { formatVia, parseVia, withReceived } from './via.js';

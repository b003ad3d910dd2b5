import type { Socket } from 'node:net';
import type { MessageLimits } from '../message/parse.js';
import { type FramerSink, StreamFramer } from './stream-framer.js';
import type { ConnectionCloseReason } from './transport-events.js';
import type { Endpoint, Flow } from './types.js';

export type ConnectionState = 'connecting' | 'open' | 'closed';

/** One TCP connection, accepted or opened by us, with its stream framer. */
export class TcpConnection {
  readonly id: number;
  readonly direction: 'inbound' | 'outbound';
  readonly socket: Socket;
  readonly framer: StreamFramer;
  /** Keys under which the transport indexes this connection by remote (`addr:port`). */
  readonly keys: string[] = [];
  state: ConnectionState;
  flow: Flow;
  closeReason: ConnectionCloseReason | undefined;
  /** Settles when an outbound connection is up (or failed); resolved at once for inbound ones. */
  ready: Promise<void> = Promise.resolve();
  /** Where the framer delivers (set once by the transport); `receivedAt` is the arrival time of the chunk. */
  framerSink: FramerSink = NO_SINK;
  receivedAt = 0n;
  /** Runs while a message is incomplete: set at its first octet, cleared when it is framed (slowloris). */
  messageDeadline: NodeJS.Timeout | undefined;

  constructor(
    id: number,
    direction: 'inbound' | 'outbound',
    socket: Socket,
    local: Endpoint,
    remote: Endpoint,
    limits: MessageLimits,
  ) {
    this.id = id;
    this.direction = direction;
    this.socket = socket;
    this.state = direction === 'inbound' ? 'open' : 'connecting';
    this.flow = { protocol: 'tcp', local, remote, connectionId: id };
    this.framer = new StreamFramer(limits);
  }

  get remote(): Endpoint {
    return this.flow.remote;
  }
}

const NO_SINK: FramerSink = { frame: () => false, ping: () => {} };

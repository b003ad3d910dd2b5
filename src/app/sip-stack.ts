import type { Config } from '../config/index.js';
import { TransactionLayer } from '../sip/transaction/index.js';
import { TransportLayer } from '../sip/transport/index.js';
import type { DatagramSteer, Endpoint, TransportProtocol } from '../sip/transport/types.js';
import { OwnPortError } from '../sip/transport/udp-transport.js';
import type { Closers } from './closers.js';
import { StartupError } from './startup-error.js';

/** What a cluster worker gives the SIP stack: the shared sockets' steering and its own UDP port's index. */
export interface SipStackWorker {
  readonly index: number;
  readonly steer: DatagramSteer;
  attach(transport: TransportLayer): void;
}

/** Transport (RFC 3261 §18) and transaction (§17) layers with the configured limits and timers; not listening yet. */
export function createSipStack(
  config: Config,
  closers: Closers,
  worker: SipStackWorker | undefined,
): { transport: TransportLayer; transactions: TransactionLayer } {
  const lim = config.sip.limits;
  const transport = new TransportLayer(
    {
      maxMessageSize: lim.maxMessageBytes,
      maxHeaders: lim.maxHeaders,
      maxLineLength: lim.maxLineLength,
      tcpMaxConnections: lim.tcpMaxConnections,
      tcpMaxConnectionsPerSource: lim.tcpMaxConnectionsPerSource,
      tcpIdleTimeoutMs: lim.tcpIdleTimeoutS * 1000,
      tcpMessageTimeoutMs: lim.tcpMessageTimeoutMs,
      tcpConnectTimeoutMs: lim.tcpConnectTimeoutMs,
    },
    worker === undefined
      ? {}
      : {
          shared: true,
          steer: worker.steer,
          ownUdpPort: config.workerUdpPortBase === 0 ? 0 : config.workerUdpPortBase + worker.index,
        },
  );
  closers.add(() => transport.close());
  worker?.attach(transport);
  const t = config.sip.timers;
  const transactions = new TransactionLayer(transport, {
    timers: { t1Ms: t.t1Ms, t2Ms: t.t2Ms, t4Ms: t.t4Ms, timerCMs: t.timerCS * 1000 },
  });
  closers.add(() => transactions.close());
  return { transport, transactions };
}

/**
 * Our listening endpoint per protocol, looked up once (requests arrive only after listen): the transport
 * throws for a protocol we do not listen on, and a throw per INVITE would cost a stack capture on the hot path.
 */
export function localEndpoints(
  transport: TransportLayer,
): (protocol: TransportProtocol) => Endpoint | undefined {
  const known = new Map<TransportProtocol, Endpoint | undefined>();
  return (protocol) => {
    if (!known.has(protocol)) {
      let ep: Endpoint | undefined;
      try {
        ep = transport.localEndpoint(protocol);
      } catch {
        ep = undefined;
      }
      known.set(protocol, ep);
    }
    return known.get(protocol);
  };
}

/** Bind every `listen` entry; a failure names the key. */
export async function listenSip(
  transport: TransportLayer,
  config: Config,
): Promise<{ protocol: TransportProtocol; local: Endpoint }[]> {
  let bound: Endpoint[];
  try {
    bound = await transport.listen(
      config.listen.map((l) => ({ protocol: l.transport, address: l.address, port: l.port })),
    );
  } catch (cause) {
    if (cause instanceof OwnPortError)
      throw new StartupError('listen', `worker_udp_port_base: ${cause.message}`, { cause });
    throw new StartupError('listen', `listen: ${(cause as Error).message}`, { cause });
  }
  return bound.map((local, i) => ({ protocol: config.listen[i]!.transport, local }));
}

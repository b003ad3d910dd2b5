import diagnostics_channel from 'node:diagnostics_channel';

/**
 * A `node:diagnostics_channel` channel whose payload type is declared with it, so a publisher that sends the
 * wrong shape fails the type check. It is the channel object itself (one per name, process-wide), typed:
 * `hasSubscribers` is a property read, and publishers check it before building a payload.
 *
 * A leaf module: the sip and stir layers declare their channels with it without importing the catalog
 * (src/events.ts), which sits above them.
 */
export interface EventChannel<T> {
  readonly name: string | symbol;
  readonly hasSubscribers: boolean;
  publish(message: T): void;
  subscribe(onMessage: (message: T, name: string | symbol) => void): void;
  unsubscribe(onMessage: (message: T, name: string | symbol) => void): void;
}

export function eventChannel<T>(name: string): EventChannel<T> {
  return diagnostics_channel.channel(name) as EventChannel<T>;
}

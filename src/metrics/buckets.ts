/**
 * Histogram buckets, in seconds, written as decimal literals so the `le` labels read cleanly. The signing
 * core (PASSporT build + one ECDSA P-256 signature) takes tens to hundreds of microseconds, so its buckets are
 * fine from 10 µs to 50 ms; anything above 50 ms is an incident, not a distribution worth resolving.
 */

/** Signing core: 10 µs .. 50 ms. */
export const SIGN_BUCKETS: readonly number[] = [
  0.00001, 0.00002, 0.00003, 0.00004, 0.00005, 0.00006, 0.00007, 0.00008, 0.00009, 0.0001, 0.000125, 0.00015,
  0.000175, 0.0002, 0.00025, 0.0003, 0.0004, 0.0005, 0.00075, 0.001, 0.0015, 0.002, 0.003, 0.005, 0.0075,
  0.01, 0.02, 0.05,
];

/** Verification: warm (cache hit) is one signature check; cold waits on an x5u fetch (timeout 2 s default). */
export const VERIFY_BUCKETS: readonly number[] = [
  0.00001, 0.000025, 0.00005, 0.000075, 0.0001, 0.00015, 0.0002, 0.0003, 0.0005, 0.00075, 0.001, 0.0015,
  0.002, 0.003, 0.005, 0.0075, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5,
];

/** INVITE received -> B-leg INVITE handed to the transaction layer (includes signing or verification). */
export const INVITE_BUCKETS: readonly number[] = [
  0.00005, 0.0001, 0.0002, 0.0003, 0.0005, 0.00075, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.025, 0.05,
  0.1, 0.25, 0.5, 1, 2.5, 5,
];

/**
 * The V8 flags Stirgate is launched with, everywhere it is launched: the `stirgate` bin (the shebang of
 * src/main.ts), `npm start` / `npm run demo`, the Dockerfile and the load bench. A test keeps them in step
 * (test/repo/node-flags.test.ts). They cannot be set from inside the process: V8 sizes its heap at start.
 *
 * `--max-semi-space-size=4` (MiB, default 16): a smaller young generation. Every scavenge stops the event
 * loop for as long as it takes to copy what is still alive, and on the SIP path that is the state of the calls
 * being set up; with 16 MiB a scavenge came every ~130 ms at 850 calls/s and paused the loop 4-17 ms, which
 * SIPp saw as INVITE->200 p99 of 16-52 ms at half load. With 4 MiB the pauses are ~1-5 ms (more of them)
 * and that p99 was 8-44 ms over four runs, at some cost in throughput (docs/operations.md, "Node runtime flags").
 */
export const NODE_FLAGS: readonly string[] = ['--max-semi-space-size=4'];

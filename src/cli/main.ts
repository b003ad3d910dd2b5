/**
 * Composition root and command line: config -> logger -> STIR material -> sip stack -> b2bua -> listen;
 * SIGTERM drains it (src/app/drain.ts), a second SIGTERM or SIGINT ends it at once, SIGHUP reloads the configuration file (src/app/reload.ts). `stirgate` alone runs the embedded default configuration. Loaded by the entry
 * (src/main.ts) once it has checked the Node.js version.
 */
import cluster from 'node:cluster';
import { rm } from 'node:fs/promises';
import { resolve } from 'node:path';
import { checkConfigFiles } from '../app/config-files.js';
import { logReloadOutcome } from '../app/reload.js';
import { type ConfigSource, type ReloadOutcome, StartupError, startStirgate } from '../app.js';
import { runPrimary } from '../cluster/primary.js';
import { ENV_WORKER_INDEX } from '../cluster/protocol.js';
import { runWorker } from '../cluster/worker.js';
import {
  type Config,
  ConfigError,
  checkConfigFile,
  configWarnings,
  DEFAULT_CONFIG_YAML,
  loadConfig,
} from '../config/index.js';
import { subscribeLogEvents } from '../log/log-events.js';
import { createLogger, type Logger } from '../log/logger.js';
import { VERSION } from '../version.js';
import { pkiInit } from './pki-init.js';

const USAGE = `usage:
  stirgate [--config FILE]          run (embedded default configuration without --config)
  stirgate config check FILE        validate a configuration file and print every problem
  stirgate config print-default     print the embedded default configuration
  stirgate pki init DIR             create a development STI-CA, SP certificate (TNAuthList) and key
  stirgate demo [CALLS]             SIPp UAC -> Stirgate (sign) -> Stirgate (verify) -> SIPp UAS on loopback
  stirgate traceback (--identity FILE|- | --origid UUID | --orig N [--dest N] | --call-id ID)
                     [--from T] [--to T] [--limit N] [--json] [--config FILE]
                                    find calls on record (stirgate traceback --help)
  stirgate block add|list|remove ... add, list or undo blocks through the admin API (stirgate block --help)
  stirgate --version`;

/** Runs the command in `argv` (process.argv without node and the script); resolves with the exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  const [cmd, sub, arg] = argv;
  if (cmd === '--help' || cmd === '-h' || cmd === 'help') {
    console.log(USAGE);
    return 0;
  }
  if (cmd === '--version') {
    console.log(VERSION);
    return 0;
  }
  if (cmd === 'config' && sub === 'check' && arg !== undefined) {
    // The file's values, then the files it names, read as start reads them; warnings do not fail it.
    const r = await checkConfigFile(arg);
    const files = r.ok ? await checkConfigFiles(r.config) : undefined;
    const problems = r.ok ? (files?.problems ?? []) : r.problems;
    for (const p of problems)
      console.error(`${arg}: ${p.path}: ${p.message}${p.line !== undefined ? ` (line ${p.line})` : ''}`);
    if (!r.ok || problems.length > 0) return 1;
    for (const w of [...configWarnings(r.config), ...(files?.warnings ?? [])])
      console.error(`${arg}: warning: ${w.path}: ${w.message}`);
    console.log(`${arg}: ok`);
    return 0;
  }
  if (cmd === 'config' && sub === 'print-default') {
    process.stdout.write(DEFAULT_CONFIG_YAML);
    return 0;
  }
  if (cmd === 'demo') {
    // Lazy: the demo pulls in SIPp process handling that `stirgate` itself never needs.
    const { runDemo, DEMO_DIR } = await import('./demo.js');
    // Kept (and started afresh each run) so that the traceback it ends with can be repeated by hand.
    const dataDir = resolve(DEMO_DIR);
    await rm(dataDir, { recursive: true, force: true });
    const r = await runDemo({ ...(sub !== undefined ? { calls: Number(sub) } : {}), dataDir });
    return r.ok ? 0 : 1;
  }
  if (cmd === 'traceback') {
    // Lazy: it links node:sqlite, which the element's own start never needs here.
    const { tracebackCommand } = await import('./traceback.js');
    return tracebackCommand(argv.slice(1));
  }
  if (cmd === 'block') {
    const { blockCommand } = await import('./block.js');
    return blockCommand(argv.slice(1));
  }
  if (cmd === 'pki' && sub === 'init' && arg !== undefined) {
    await pkiInit(arg);
    return 0;
  }
  let file: string | undefined;
  if (cmd === '--config' || cmd === '-c') {
    if (sub === undefined) {
      console.error(USAGE);
      return 2;
    }
    file = sub;
  } else if (cmd !== undefined) {
    console.error(USAGE);
    return 2;
  }
  return run(file);
}

async function run(file: string | undefined): Promise<number> {
  // What a reload reads again: the same file, with the same environment overrides.
  const source: ConfigSource = {
    ...(file !== undefined ? { file } : {}),
    env: process.env,
    version: VERSION,
  };
  let config: Awaited<ReturnType<typeof loadConfig>>;
  try {
    config = await loadConfig(source);
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      return 1;
    }
    throw err;
  }
  const logger = createLogger({ level: config.log.level });
  // An element with nothing to do says so, loudly, once (not again in each cluster worker).
  if (cluster.isPrimary) {
    for (const w of configWarnings(config)) {
      console.error(`stirgate: warning: ${w.path}: ${w.message}`);
      logger.warn({ event: 'config_warning', code: w.code, path: w.path }, w.message);
    }
  }
  if (config.workers > 1) return runCluster(config, logger, source);
  let stopLogEvents = subscribeLogEvents(logger); // SIP traces too, when log.level is trace
  const app = await startStirgate(config, logger, undefined, source).catch(startupFailed(logger));
  if (app === undefined) return 1;
  // The event logs subscribe by level (src/log/log-events.ts): a reload that changes it subscribes again.
  let level = config.log.level;
  app.liveConfig.subscribe((c) => {
    if (c.log.level === level) return;
    level = c.log.level;
    stopLogEvents();
    stopLogEvents = subscribeLogEvents(logger);
  });
  onHangUp(logger, () => app.reload());
  await new Promise<void>((resolve) => {
    // SIGTERM drains (src/app/drain.ts); a second SIGTERM, or SIGINT, ends at once (BYEs sent, not awaited).
    let signals = 0;
    const stop = (signal: string) => {
      signals++;
      logger.info({ signal }, signals === 1 && signal === 'SIGTERM' ? 'draining' : 'stopping');
      if (signals === 1) {
        app
          .drain()
          .then(() => app.close())
          .then(resolve, resolve)
          .finally(stopLogEvents);
        if (signal === 'SIGTERM') return;
      }
      app.drainNow();
    };
    process.on('SIGINT', () => stop('SIGINT'));
    process.on('SIGTERM', () => stop('SIGTERM'));
  });
  return 0;
}

/** A StartupError is logged and printed (its message names the key or file) and gives undefined; others rethrow. */
function startupFailed(logger: Logger): (err: unknown) => undefined {
  return (err) => {
    if (!(err instanceof StartupError)) throw err;
    logger.fatal({ code: err.code, err: err.cause }, err.message);
    console.error(`stirgate: ${err.message}`);
    return undefined;
  };
}

/** SIGHUP: reload the configuration file, and log the outcome (a refused file: every problem, at error). */
function onHangUp(logger: Logger, reload: () => Promise<ReloadOutcome>): void {
  process.on('SIGHUP', () => {
    logger.info({ signal: 'SIGHUP', event: 'config_reload' }, 'reloading the configuration');
    reload().then(
      (outcome) => logReloadOutcome(logger, outcome, 'SIGHUP'),
      (err: unknown) => logger.error({ err, event: 'config_reload_failed' }, 'configuration reload failed'),
    );
  });
}

/** `workers` > 1: this process is the primary (forks, aggregates) or one of the SIP workers (src/cluster/). */
async function runCluster(config: Config, logger: Logger, source: ConfigSource): Promise<number> {
  if (cluster.isWorker) {
    // Every line a worker writes (its element and the event logs) names it.
    const log = logger.child({ worker: Number(process.env[ENV_WORKER_INDEX]) });
    const stopLogEvents = subscribeLogEvents(log);
    const code = await runWorker(config, log);
    stopLogEvents();
    if (process.connected) process.disconnect(); // the IPC channel would keep this process alive
    return code;
  }
  const handle = await runPrimary(config, logger, source).catch(startupFailed(logger));
  if (handle === undefined) return 1;
  onHangUp(logger, () => handle.reload());
  // As in one process: SIGTERM drains every worker, a second SIGTERM or SIGINT ends them at once.
  let signals = 0;
  const stop = (signal: string) => {
    signals++;
    logger.info({ signal }, signals === 1 && signal === 'SIGTERM' ? 'draining' : 'stopping');
    if (signals === 1 && signal === 'SIGTERM') handle.stop();
    else handle.stopNow();
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  return handle.done;
}

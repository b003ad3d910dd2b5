/**
 * `POST /v1/config/reload` (ADMIN-API.md): re-reads the configuration file through the element's reload
 * (`Stirgate.reload()`: new calls get the new routing, calls in progress keep theirs). Applied: audited
 * (`config.reload`) and answered with what changed and what needs a restart. Refused: 422 `config_invalid`
 * with every problem, the running configuration unchanged, logged but not audited (nothing changed).
 */
import type { ControlPlane, ReloadOutcome } from '../control/control-plane.js';
import type { Logger } from '../log/logger.js';
import { ApiError } from './api-error.js';
import type { Route } from './router.js';

export function configReloadRoutes(
  plane: ControlPlane,
  reload: () => Promise<ReloadOutcome>,
  logger: Logger,
): Route[] {
  return [
    {
      method: 'POST',
      path: '/v1/config/reload',
      async handle({ actor }) {
        const r = await reload();
        if (!r.ok) {
          logger.warn(
            { event: 'config_reload_refused', actor, problems: r.problems.length },
            'configuration reload refused',
          );
          throw new ApiError(
            422,
            'config_invalid',
            `the configuration does not validate (${r.problems.length} problem${r.problems.length === 1 ? '' : 's'}); the running one stays`,
            undefined,
            r.problems,
          );
        }
        await plane.recordReload(actor!, r.changed, r.restartRequired);
        return {
          status: 200,
          body: { reloaded: true, changed: r.changed, restart_required: r.restartRequired },
        };
      },
    },
  ];
}

/**
 * `GET /v1/customers`, `GET /v1/customers/{name}`, `PATCH /v1/customers/{name}/limits` (ADMIN-API.md): each
 * customer's configured limits, the operators' override over them, and the live figures of the counters that
 * are authoritative (this process's, or in a cluster the primary's, which count for every worker).
 */
import type { Config } from '../config/index.js';
import type { ControlPlane } from '../control/control-plane.js';
import type { CustomerFigures } from '../policy/admission-counters.js';
import type { CustomerLimits } from '../policy/controls.js';
import { ApiError } from './api-error.js';
import { customerJson } from './control-json.js';
import { controlAnswer, jsonBody } from './control-refusal.js';
import type { Route } from './router.js';

export interface CustomerSources {
  /** The running configuration (a reload replaces it). */
  config(): Config;
  /** The limits the configuration gives `customer` (its own, or the defaults). */
  configuredLimits(customer: string): CustomerLimits;
  /** Live figures of every customer that has any. */
  figures(): readonly CustomerFigures[] | Promise<readonly CustomerFigures[]>;
}

export function customersRoutes(plane: ControlPlane, sources: CustomerSources): Route[] {
  const one = async (name: string) => {
    const c = sources.config().customers.find((x) => x.name === name);
    if (c === undefined)
      throw new ApiError(404, 'customer_not_found', `no customer ${JSON.stringify(name)} is configured`);
    const figures = (await sources.figures()).find((f) => f.customer === name);
    return customerJson(c, sources.configuredLimits(name), plane.overrideOf(name), figures);
  };
  return [
    {
      method: 'GET',
      path: '/v1/customers',
      async handle() {
        const figures = new Map((await sources.figures()).map((f) => [f.customer, f]));
        const customers = sources
          .config()
          .customers.map((c) =>
            customerJson(c, sources.configuredLimits(c.name), plane.overrideOf(c.name), figures.get(c.name)),
          );
        return { status: 200, body: { customers } };
      },
    },
    {
      method: 'GET',
      path: '/v1/customers/{name}',
      handle: async ({ params }) => ({ status: 200, body: await one(params['name']!) }),
    },
    {
      method: 'PATCH',
      path: '/v1/customers/{name}/limits',
      async handle(ctx) {
        const name = ctx.params['name']!;
        const body = await jsonBody(ctx);
        await controlAnswer(() => plane.setLimits(name, body, ctx.actor!));
        return { status: 200, body: await one(name) };
      },
    },
  ];
}

/**
 * `GET /v1/blocks`, `POST /v1/blocks`, `DELETE /v1/blocks/{id}` (ADMIN-API.md): the control plane validates,
 * stores with the audit entry and publishes before this answers, so the next INVITE sees the change.
 */
import type { ControlPlane } from '../control/control-plane.js';
import { ApiError } from './api-error.js';
import { blockJson } from './control-json.js';
import { controlAnswer, jsonBody } from './control-refusal.js';
import { parseQuery } from './query-params.js';
import type { Route } from './router.js';

const LIST = {
  all: (raw: string) => (raw === 'true' ? true : raw === 'false' ? false : { invalid: 'true or false' }),
};

export function blocksRoutes(plane: ControlPlane): Route[] {
  return [
    {
      method: 'GET',
      path: '/v1/blocks',
      async handle({ url }) {
        const q = parseQuery(url.searchParams, LIST);
        if (q instanceof ApiError) throw q;
        const blocks = await plane.listBlocks(q.all ?? false);
        return { status: 200, body: { blocks: blocks.map(blockJson) } };
      },
    },
    {
      method: 'POST',
      path: '/v1/blocks',
      async handle(ctx) {
        const body = await jsonBody(ctx);
        const b = await controlAnswer(() => plane.addBlock(body, ctx.actor!));
        return { status: 201, body: blockJson(b) };
      },
    },
    {
      method: 'DELETE',
      path: '/v1/blocks/{id}',
      async handle(ctx) {
        const body = await jsonBody(ctx);
        const b = await controlAnswer(() => plane.removeBlock(ctx.params['id']!, body, ctx.actor!));
        return { status: 200, body: blockJson(b) };
      },
    },
  ];
}

/**
 * The UI and the API extensions it uses, registered on the query server.
 */
import type { FastifyInstance } from 'fastify';
import type { Storage } from '../storage/api.js';
import type { QueryService } from '../query/trace-service.js';

export function uiPlugins(_opts: { basePath: string; distDir: string; storage: Storage }): ((app: FastifyInstance, query: QueryService) => Promise<void>)[] {
  return [];
}

/** `/api/services`, `/api/services/:service/operations`, `/api/operations` — Jaeger's exact shapes. */
import type { FastifyPluginAsync } from 'fastify';
import { spanKindFromName } from '../../model/span.js';
import { envelope } from '../envelope.js';
import { BadRequestError } from '../errors.js';
import { one, type QueryString } from '../query-params.js';
import type { QueryService } from '../trace-service.js';

export const servicesRoutes: FastifyPluginAsync<{ query: QueryService }> = async (app, { query }) => {
  app.get('/api/services', async () => {
    const services = await query.reader.getServices();
    return envelope(services, { total: services.length });
  });

  app.get<{ Params: { service: string } }>('/api/services/:service/operations', async (req) => {
    // fastify has already URL-unescaped the path segment.
    const ops = await query.reader.getOperations({ serviceName: req.params.service });
    const names = [...new Set(ops.map((o) => o.name))].sort();
    return envelope(names, { total: names.length });
  });

  app.get<{ Querystring: QueryString }>('/api/operations', async (req) => {
    const service = one(req.query, 'service');
    if (!service) throw new BadRequestError("parameter 'service' is required");
    const kindParam = one(req.query, 'spanKind');
    let spanKind;
    if (kindParam !== undefined) {
      spanKind = spanKindFromName(kindParam);
      if (spanKind === undefined) throw new BadRequestError(`unsupported span kind: '${kindParam}'`);
    }
    const ops = await query.reader.getOperations({ serviceName: service, spanKind });
    const data = ops.map((o) => ({ name: o.name, spanKind: o.spanKind }));
    return envelope(data, { total: data.length });
  });
};

// The access policy on /v2 requests, after basicAuth: each repository request needs the actions
// its route implies (reads: pull; uploads, mounts, manifest PUT: pull and push; DELETE: delete),
// decided before storage sees the request, so a repository that exists and one that does not get
// the same 403 DENIED. A cross-repository mount from a repository the caller may not pull loses
// its mount parameters (storage then answers 202 and the client uploads). The catalog lists only
// what the caller may pull. Without credentials, basicAuth lets through only what
// `anonymousAccess` allows.
import type { Logger } from '../../common/logger.js';
import { isRegistryError, RegistryError } from '../../common/errors.js';
import { scopeOf, type Action, type Scope } from '../../common/v2-scope.js';
import { ANONYMOUS, decidingRule, type AccessPolicy, type Decision, type PolicySource, type Subject } from '../access/index.js';
import { filteredCatalogPage, type CatalogReader } from '../access/filtered-catalog.js';
import { respondWithError } from '../oci-response.js';
import type { GatewayContext, GatewayMiddleware } from '../state.js';
import type { AccessRecord } from '../unauthorized-detail.js';
import { gatewayMetrics } from '../metrics.js';
import { getFromUpstream } from '../upstream-request.js';
import type { Upstream } from '../upstream.js';

export interface AccessControlOptions {
  policy: PolicySource;
  logger: Logger;
  /** For the catalog, which the gateway reads from storage itself to filter it. */
  upstream: Upstream;
  internalToken?: string;
}

type RepositoryScope = Scope & { repository: string };

/**
 * The actions a repository request needs, in the order they are checked. Upload sessions (any
 * method, a DELETE that cancels one included) are pushes; a method that needs nothing by the
 * route table (OPTIONS, unknown ones) still needs pull, so it cannot probe a repository.
 */
export function requiredActions(scope: RepositoryScope): readonly Action[] {
  if (scope.route === 'upload' || scope.route === 'upload-start') return ['pull', 'push'];
  return scope.actions.length > 0 ? scope.actions : ['pull'];
}

function repositoryScope(scope: Scope | undefined): RepositoryScope | undefined {
  return scope?.repository !== undefined ? (scope as RepositoryScope) : undefined;
}

export function accessControl(options: AccessControlOptions): GatewayMiddleware {
  const { policy: source, logger } = options;
  const readCatalog = catalogReader(options);

  return async (ctx, next) => {
    const routed = scopeOf(ctx.method, ctx.path);
    if (routed === undefined || routed.route === 'base') return next();
    const policy = await source.current();
    const subject: Subject = ctx.state.user !== undefined ? { user: ctx.state.user } : ANONYMOUS;

    if (routed.route === 'catalog') {
      if (policy.allowsEverywhere(subject, 'pull')) return next();
      return answerFilteredCatalog(ctx, (last, n) => readCatalog(ctx, last, n), (name) => policy.decide(subject, 'pull', name).allowed);
    }

    const scope = repositoryScope(routed);
    if (scope === undefined) return next();
    const needed = requiredActions(scope);
    for (const action of needed) {
      const decision = policy.decide(subject, action, scope.repository);
      if (decision.allowed) continue;
      logger.info(
        { requestId: ctx.state.requestId, user: ctx.state.user ?? null, action, repository: scope.repository, rule: decidingRule(decision) },
        'access denied',
      );
      gatewayMetrics.accessDenials.inc({ action });
      const records = needed.map((a): AccessRecord => ({ Type: 'repository', Class: '', Name: scope.repository, Action: a }));
      // docker prints "denied: requested access to the resource is denied" only with a non-null detail.
      respondWithError(ctx, 'DENIED', { detail: records });
      return;
    }
    if (ctx.method === 'POST' && ('mount' in ctx.query || 'from' in ctx.query)) dropForbiddenMount(ctx, policy, subject, logger);
    return next();
  };
}

/** For basicAuth: whether a request without credentials is allowed (a repository read that a rule grants anonymously). */
export function anonymousAccess(source: PolicySource): (ctx: GatewayContext) => Promise<boolean> {
  return async (ctx) => {
    const scope = repositoryScope(scopeOf(ctx.method, ctx.path));
    if (scope === undefined) return false;
    const policy = await source.current();
    if (!policy.grantsAnonymous) return false;
    return requiredActions(scope).every((action) => policy.decide(ANONYMOUS, action, scope.repository).allowed);
  };
}

function dropForbiddenMount(ctx: GatewayContext, policy: AccessPolicy, subject: Subject, logger: Logger): void {
  const from = ctx.query.from;
  let decision: Decision | undefined;
  if (typeof from === 'string') {
    decision = policy.decide(subject, 'pull', from);
    if (decision.allowed) return;
  }
  // Never an error and never a hint whether the source exists: storage just starts an upload.
  const params = new URLSearchParams(ctx.querystring);
  params.delete('mount');
  params.delete('from');
  ctx.querystring = params.toString();
  logger.info(
    { requestId: ctx.state.requestId, user: ctx.state.user ?? null, action: 'pull', repository: typeof from === 'string' ? from : null, rule: decision ? decidingRule(decision) : 'none' },
    'cross-repository mount denied; the client uploads instead',
  );
}

async function answerFilteredCatalog(ctx: GatewayContext, read: CatalogReader, allowed: (name: string) => boolean): Promise<void> {
  const { n: nParam, last: lastParam } = ctx.query;
  if (nParam !== undefined && (typeof nParam !== 'string' || !/^\d+$/.test(nParam))) {
    respondWithError(ctx, 'PAGINATION_NUMBER_INVALID', { message: 'n must be a non-negative integer', detail: { n: nParam } });
    return;
  }
  const n = nParam === undefined ? undefined : Number(nParam);
  const last = typeof lastParam === 'string' ? lastParam : undefined;
  let page;
  try {
    page = await filteredCatalogPage(read, allowed, { n, last });
  } catch (error) {
    if (error instanceof StorageAnswer) {
      // Storage's own answer to a bad request (or its error) goes to the client as it is.
      ctx.status = error.status;
      ctx.type = error.contentType ?? 'application/json';
      ctx.body = error.body;
      return;
    }
    throw error;
  }
  if (page.nextLast !== undefined) ctx.set('Link', `</v2/_catalog?last=${encodeURIComponent(page.nextLast)}&n=${n}>; rel="next"`);
  ctx.type = 'application/json';
  ctx.body = JSON.stringify({ repositories: page.names });
}

class StorageAnswer extends Error {
  constructor(
    readonly status: number,
    readonly body: Buffer,
    readonly contentType: string | undefined,
  ) {
    super(`storage answered ${status}`);
  }
}

function catalogReader(options: AccessControlOptions) {
  return async (ctx: GatewayContext, last: string | undefined, n: number | undefined) => {
    const params = new URLSearchParams();
    if (n !== undefined) params.set('n', String(n));
    if (last !== undefined) params.set('last', last);
    const query = params.toString();
    let answer;
    try {
      answer = await getFromUpstream(options.upstream, {
        path: `/v2/_catalog${query ? `?${query}` : ''}`,
        internalToken: options.internalToken,
        user: ctx.state.user,
        requestId: ctx.state.requestId,
      });
    } catch (error) {
      if (isRegistryError(error)) throw error;
      options.logger.error({ err: error, requestId: ctx.state.requestId }, 'catalog: storage did not answer');
      throw new RegistryError('UNAVAILABLE', 'storage service unavailable', null, { status: 503 });
    }
    if (answer.status !== 200) throw new StorageAnswer(answer.status, answer.body, answer.headers['content-type']);
    const parsed = JSON.parse(answer.body.toString('utf8')) as { repositories?: unknown };
    const names = Array.isArray(parsed.repositories) ? parsed.repositories.filter((name): name is string => typeof name === 'string') : [];
    return { names, more: answer.headers.link !== undefined };
  };
}

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
    if (routed.route === 'repositories') {
      if (policy.allowsEverywhere(subject, 'pull')) return next();
      return answerFilteredRepositories(ctx, options, (name) => policy.decide(subject, 'pull', name).allowed);
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
    const routed = scopeOf(ctx.method, ctx.path);
    // The web UI's repository list, filtered to what anonymous users may pull (accessControl).
    if (routed?.route === 'repositories' && (ctx.method === 'GET' || ctx.method === 'HEAD')) return (await source.current()).grantsAnonymous;
    const scope = repositoryScope(routed);
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

/** The `n` and `last` of a listing's query; undefined after answering PAGINATION_NUMBER_INVALID. */
function pageQuery(ctx: GatewayContext): { n?: number; last?: string } | undefined {
  const { n: nParam, last: lastParam } = ctx.query;
  if (nParam !== undefined && (typeof nParam !== 'string' || !/^\d+$/.test(nParam))) {
    respondWithError(ctx, 'PAGINATION_NUMBER_INVALID', { message: 'n must be a non-negative integer', detail: { n: nParam } });
    return undefined;
  }
  return { n: nParam === undefined ? undefined : Number(nParam), last: typeof lastParam === 'string' ? lastParam : undefined };
}

/** A filtered page, or undefined after passing on storage's own answer to a bad request (or its error) as it is. */
async function filteredOrStorageAnswer<T>(ctx: GatewayContext, work: () => Promise<T>): Promise<T | undefined> {
  try {
    return await work();
  } catch (error) {
    if (!(error instanceof StorageAnswer)) throw error;
    ctx.status = error.status;
    ctx.type = error.contentType ?? 'application/json';
    ctx.body = error.body;
    return undefined;
  }
}

async function answerFilteredCatalog(ctx: GatewayContext, read: CatalogReader, allowed: (name: string) => boolean): Promise<void> {
  const query = pageQuery(ctx);
  if (!query) return;
  const { n, last } = query;
  const page = await filteredOrStorageAnswer(ctx, () => filteredCatalogPage(read, allowed, { n, last }));
  if (!page) return;
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
  const read = listReader(options, '/v2/_catalog', 'repositories', (name): name is string => typeof name === 'string');
  return (ctx: GatewayContext, last: string | undefined, n: number | undefined) => read(ctx, last, n, {});
}

/** The web UI's repository list (storage/handlers/repository-summaries.ts), filtered like the catalog. */
async function answerFilteredRepositories(ctx: GatewayContext, options: AccessControlOptions, allowed: (name: string) => boolean): Promise<void> {
  type Entry = { name: string };
  const read = listReader(options, '/v2/_registry/repositories', 'repositories', (entry): entry is Entry => typeof (entry as Entry | null)?.name === 'string');
  const extra: Record<string, string> = typeof ctx.query.q === 'string' ? { q: ctx.query.q } : {};
  const query = pageQuery(ctx);
  if (!query) return;
  // Storage's page size rules (default 100, at most 1000) apply to what the caller gets.
  const n = Math.min(query.n ?? 100, 1000);
  const page = await filteredOrStorageAnswer(ctx, () =>
    filteredCatalogPage<Entry>(
      (after, count) => read(ctx, after, count === undefined ? undefined : Math.min(count, 1000), extra),
      (entry) => allowed(entry.name),
      { n, last: query.last },
      (entry) => entry.name,
    ),
  );
  if (!page) return;
  if (page.nextLast !== undefined) {
    const params = new URLSearchParams({ ...extra, last: page.nextLast, n: String(n) });
    ctx.set('Link', `</v2/_registry/repositories?${params.toString()}>; rel="next"`);
  }
  ctx.type = 'application/json';
  ctx.set('Cache-Control', 'no-store');
  ctx.body = JSON.stringify({ repositories: page.names });
}

/** Reads one page of a storage listing (`{<key>: [...]}` with a Link when more follow) as the gateway itself. */
function listReader<T>(options: AccessControlOptions, path: string, key: string, isEntry: (entry: unknown) => entry is T) {
  return async (ctx: GatewayContext, last: string | undefined, n: number | undefined, extra: Record<string, string>) => {
    const params = new URLSearchParams(extra);
    if (n !== undefined) params.set('n', String(n));
    if (last !== undefined) params.set('last', last);
    const query = params.toString();
    let answer;
    try {
      answer = await getFromUpstream(options.upstream, {
        path: `${path}${query ? `?${query}` : ''}`,
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
    const parsed = JSON.parse(answer.body.toString('utf8')) as Record<string, unknown>;
    const list = parsed[key];
    const names = Array.isArray(list) ? list.filter(isEntry) : [];
    return { names, more: answer.headers.link !== undefined };
  };
}

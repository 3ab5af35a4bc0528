// The URL space of the OCI Distribution API v1.1, in one table (like distribution's route
// descriptors in registry/api/v2): storage's router (storage/routes.ts) registers exactly these
// routes and methods, and the gateway reads a route, a repository and the actions a request
// needs from the same table (common/v2-scope.ts). Order matters where a greedy repository name
// could swallow a keyword (uploads before blobs): the router and the parser both try routes in
// this order.

export type Action = 'pull' | 'push' | 'delete';

export type Method = 'GET' | 'PUT' | 'POST' | 'PATCH' | 'DELETE';

export interface RouteDescriptor {
  name: string;
  /**
   * Path templates: `<name>` is a repository name (slashes included, matched greedily), any
   * other `<param>` is one path segment.
   */
  paths: readonly string[];
  /** The methods storage serves here; GET serves HEAD too. */
  methods: readonly Method[];
  /** What the route is about: the registry as a whole, or one repository. */
  resource: 'registry' | 'repository';
}

export const V2_ROUTES = [
  { name: 'base', paths: ['/v2/', '/v2'], methods: ['GET'], resource: 'registry' },
  { name: 'catalog', paths: ['/v2/_catalog'], methods: ['GET'], resource: 'registry' },
  // Extensions (OCI `_<ext>` naming), before `manifest`, whose greedy name would swallow them (a
  // valid repository name never starts with `_`): repositories with tag count, size and last push
  // (storage/handlers/repository-summaries.ts, for the web UI); one repository's tags with digest,
  // size, dates and platforms, or the whole repository deleted (storage/handlers/repositories.ts).
  { name: 'repositories', paths: ['/v2/_registry/repositories'], methods: ['GET'], resource: 'registry' },
  { name: 'repository', paths: ['/v2/_registry/repositories/<name>'], methods: ['GET', 'DELETE'], resource: 'repository' },
  { name: 'manifest', paths: ['/v2/<name>/manifests/<reference>'], methods: ['GET', 'PUT', 'DELETE'], resource: 'repository' },
  { name: 'upload-start', paths: ['/v2/<name>/blobs/uploads/', '/v2/<name>/blobs/uploads'], methods: ['POST'], resource: 'repository' },
  { name: 'upload', paths: ['/v2/<name>/blobs/uploads/<uuid>'], methods: ['GET', 'PATCH', 'PUT', 'DELETE'], resource: 'repository' },
  { name: 'blob', paths: ['/v2/<name>/blobs/<digest>'], methods: ['GET', 'DELETE'], resource: 'repository' },
  { name: 'tags', paths: ['/v2/<name>/tags/list'], methods: ['GET'], resource: 'repository' },
  { name: 'referrers', paths: ['/v2/<name>/referrers/<digest>'], methods: ['GET'], resource: 'repository' },
] as const satisfies readonly RouteDescriptor[];

export type V2Route = (typeof V2_ROUTES)[number];
export type RouteName = V2Route['name'];

/**
 * The access a method needs on the resource it names, as registry:2 records it
 * (registry/handlers/app.go appendAccessRecords): writes need pull too (a push reads what it
 * writes), other methods need nothing.
 */
const ACTIONS_BY_METHOD: Readonly<Record<string, readonly Action[]>> = {
  GET: ['pull'],
  HEAD: ['pull'],
  POST: ['pull', 'push'],
  PUT: ['pull', 'push'],
  PATCH: ['pull', 'push'],
  DELETE: ['delete'],
};

export function actionsOf(method: string): readonly Action[] {
  return ACTIONS_BY_METHOD[method.toUpperCase()] ?? [];
}

/** Methods that change nothing: what a read-only registry still serves. */
export const READ_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS']);

/** A route's path template as a @koa/router path (`*name`, `:param`). */
export function routerPath(template: string): string {
  return template.replace(/<(\w+)>/g, (_, param: string) => (param === 'name' ? '*name' : `:${param}`));
}

/** A route's path template as an anchored regular expression; group 1 is the raw repository name. */
function pathRegExp(template: string): RegExp {
  const source = template
    .split(/(<\w+>)/)
    .map((part) => (part === '<name>' ? '(.+)' : /^<\w+>$/.test(part) ? '[^/]+' : part.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')))
    .join('');
  return new RegExp(`^${source}$`);
}

const MATCHERS = V2_ROUTES.flatMap((route) => route.paths.map((template) => ({ route, regexp: pathRegExp(template) })));

export interface RouteMatch {
  route: V2Route;
  /** The repository name as it stands in the path (not decoded), for repository routes. */
  rawName?: string;
}

/** The first route whose path matches, whatever the method; undefined outside the table. */
export function matchRoute(path: string): RouteMatch | undefined {
  for (const { route, regexp } of MATCHERS) {
    const match = regexp.exec(path);
    if (match) return { route, rawName: match[1] };
  }
  return undefined;
}

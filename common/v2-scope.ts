// What a `/v2/` request touches and which action it needs: the only registry knowledge the
// gateway has. The patterns match storage's routes (storage/routes.ts) in the same order, with
// the same greedy repository name, so both processes read the same name out of a path.

export type Action = 'pull' | 'push' | 'delete';

export type Scope =
  | { type: 'base' }
  | { type: 'catalog' }
  | { type: 'repository'; name: string; action: Action }
  | { type: 'other' };

const REPOSITORY_ROUTES: RegExp[] = [
  /^\/v2\/(.+)\/manifests\/[^/]+$/,
  /^\/v2\/(.+)\/blobs\/uploads\/?$/,
  /^\/v2\/(.+)\/blobs\/uploads\/[^/]+$/,
  /^\/v2\/(.+)\/blobs\/[^/]+$/,
  /^\/v2\/(.+)\/tags\/list$/,
  /^\/v2\/(.+)\/referrers\/[^/]+$/,
];

export function scopeOf(method: string, path: string): Scope {
  if (path === '/v2' || path === '/v2/') return { type: 'base' };
  if (path === '/v2/_catalog') return { type: 'catalog' };
  for (const route of REPOSITORY_ROUTES) {
    const match = route.exec(path);
    if (!match) continue;
    let name = match[1]!;
    try {
      name = decodeURIComponent(name);
    } catch {
      // keep the raw name; storage answers NAME_INVALID
    }
    return { type: 'repository', name, action: actionOf(method) };
  }
  return { type: 'other' };
}

export function actionOf(method: string): Action {
  switch (method.toUpperCase()) {
    case 'GET':
    case 'HEAD':
    case 'OPTIONS':
      return 'pull';
    case 'DELETE':
      return 'delete';
    default:
      return 'push';
  }
}

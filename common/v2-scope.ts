// What a `/v2/` request touches and which actions it needs, read from the route table
// (common/v2-routes.ts) that storage's router is built from, so both processes read the same
// route and repository name out of a path.
import { actionsOf, matchRoute, type Action, type RouteName } from './v2-routes.js';

export type { Action, RouteName } from './v2-routes.js';

export interface Scope {
  /** The route the path names (access control, metrics labels, the UI). */
  route: RouteName;
  resource: 'registry' | 'repository';
  /** The repository, decoded, for repository routes. */
  repository?: string;
  /** What the method needs on the resource; empty for methods that need nothing. */
  actions: readonly Action[];
}

/** The scope of a request, or undefined for a path outside the API's routes. */
export function scopeOf(method: string, path: string): Scope | undefined {
  const match = matchRoute(path);
  if (!match) return undefined;
  const { route, rawName } = match;
  const scope: Scope = { route: route.name, resource: route.resource, actions: actionsOf(method) };
  if (rawName !== undefined) scope.repository = decodeName(rawName);
  return scope;
}

function decodeName(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw; // storage answers NAME_INVALID
  }
}

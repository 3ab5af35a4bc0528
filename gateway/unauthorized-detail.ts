// The `detail` registry:2 puts in a 401 body: the access the request needed, as distribution's
// auth.Access records (Type, Class, Name, Action), computed from the method and path the same
// way (registry/handlers/app.go appendAccessRecords). The base route gives null.
import { actionsOf } from '../common/v2-routes.js';
import { scopeOf } from '../common/v2-scope.js';

export interface AccessRecord {
  Type: 'repository' | 'registry';
  Class: string;
  Name: string;
  Action: string;
}

export function unauthorizedDetail(method: string, path: string, mountFrom?: string): AccessRecord[] | null {
  const scope = scopeOf(method, path);
  const records: AccessRecord[] = [];
  const repository = (name: string, actions: readonly string[]): AccessRecord[] =>
    actions.map((Action) => ({ Type: 'repository', Class: '', Name: name, Action }));
  if (scope?.route === 'catalog') {
    records.push({ Type: 'registry', Class: '', Name: 'catalog', Action: '*' });
  } else if (scope?.repository !== undefined) {
    records.push(...repository(scope.repository, scope.actions));
    // Mounting a blob from another repository also needs pull on that repository.
    if (mountFrom) records.push(...repository(mountFrom, actionsOf('GET')));
  }
  return records.length > 0 ? records : null;
}

// The `detail` registry:2 puts in a 401 body: the access the request needed, as distribution's
// auth.Access records (Type, Class, Name, Action), computed from the method and path the same
// way (registry/handlers/app.go appendAccessRecords). The base route gives null.
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
  if (scope.type === 'catalog') {
    records.push({ Type: 'registry', Class: '', Name: 'catalog', Action: '*' });
  } else if (scope.type === 'repository') {
    records.push(...recordsFor(method, scope.name));
    // Mounting a blob from another repository also needs pull on that repository.
    if (mountFrom) records.push(...recordsFor('GET', mountFrom));
  }
  return records.length > 0 ? records : null;
}

function recordsFor(method: string, name: string): AccessRecord[] {
  const record = (Action: string): AccessRecord => ({ Type: 'repository', Class: '', Name: name, Action });
  switch (method.toUpperCase()) {
    case 'GET':
    case 'HEAD':
      return [record('pull')];
    case 'POST':
    case 'PUT':
    case 'PATCH':
      return [record('pull'), record('push')];
    case 'DELETE':
      return [record('delete')];
    default:
      return [];
  }
}

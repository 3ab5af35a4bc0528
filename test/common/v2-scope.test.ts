// The route table read from the gateway's side: the same route and repository storage's router sees.
import test from 'ava';
import { scopeOf } from '../../common/v2-scope.js';

const digest = 'sha256:' + 'a'.repeat(64);

test('each path names its route, its repository (decoded) and what the method needs', (t) => {
  t.deepEqual(scopeOf('GET', '/v2/'), { route: 'base', resource: 'registry', actions: ['pull'] });
  t.deepEqual(scopeOf('GET', '/v2/_catalog'), { route: 'catalog', resource: 'registry', actions: ['pull'] });
  t.deepEqual(scopeOf('PUT', '/v2/a/b/manifests/v1'), { route: 'manifest', resource: 'repository', repository: 'a/b', actions: ['pull', 'push'] });
  t.deepEqual(scopeOf('DELETE', `/v2/a/blobs/${digest}`), { route: 'blob', resource: 'repository', repository: 'a', actions: ['delete'] });
  t.is(scopeOf('POST', '/v2/a/blobs/uploads/')?.route, 'upload-start');
  t.is(scopeOf('POST', '/v2/a/blobs/uploads')?.route, 'upload-start');
  t.is(scopeOf('PATCH', '/v2/a/blobs/uploads/123')?.route, 'upload');
  t.is(scopeOf('GET', '/v2/a/tags/list')?.repository, 'a');
  t.is(scopeOf('GET', '/v2/team%2Fapp/tags/list')?.repository, 'team/app');
  t.is(scopeOf('GET', `/v2/lib/referrers/${digest}`)?.route, 'referrers');
  t.is(scopeOf('GET', '/v2/not-a-route'), undefined);
  t.deepEqual(scopeOf('OPTIONS', '/v2/a/tags/list')?.actions, []);
});

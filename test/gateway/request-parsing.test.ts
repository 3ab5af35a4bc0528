// Small pure pieces of the gateway: Basic credentials, the log's query redaction, the 401 detail.
import test from 'ava';
import { parseBasicCredentials } from '../../gateway/basic-credentials.js';
import { redactQuery } from '../../gateway/middleware/access-log.js';
import { unauthorizedDetail } from '../../gateway/unauthorized-detail.js';

const basic = (text: string) => `Basic ${Buffer.from(text, 'utf8').toString('base64')}`;

test('Basic credentials: the password may hold colons and any UTF-8; the scheme is case-insensitive', (t) => {
  t.deepEqual(parseBasicCredentials(basic('alice:s3cret')), { user: 'alice', password: 's3cret' });
  t.deepEqual(parseBasicCredentials(basic('alice:pa:ss:word')), { user: 'alice', password: 'pa:ss:word' });
  t.deepEqual(parseBasicCredentials(basic('zoë:mot de passe é')), { user: 'zoë', password: 'mot de passe é' });
  t.deepEqual(parseBasicCredentials(basic('alice:')), { user: 'alice', password: '' });
  t.deepEqual(parseBasicCredentials(basic('alice:x').replace('Basic', 'basic')), { user: 'alice', password: 'x' });
});

test('anything else is "no credentials"', (t) => {
  for (const header of [undefined, '', 'Basic', 'Basic ', 'Bearer abc.def', 'Basic %%%', 'Basic YWxpY2U=' /* "alice", no colon */, 'Basic a', 'Basic YWxp Y2U6eA==']) {
    t.is(parseBasicCredentials(header), undefined, String(header));
  }
});

test('the access log keeps useful query parameters and hides the rest', (t) => {
  t.is(redactQuery(''), '');
  t.is(redactQuery('n=10&last=probe%2Fa'), 'n=10&last=probe%2Fa');
  t.is(redactQuery('_state=abc.def&digest=sha256:00'), '_state=[redacted]&digest=sha256%3A00');
  t.is(redactQuery('mount=sha256:aa&from=other/repo&token=x'), 'mount=sha256%3Aaa&from=other%2Frepo&token=[redacted]');
});

test('the 401 detail follows distribution\'s access records', (t) => {
  t.is(unauthorizedDetail('GET', '/v2/'), null);
  t.is(unauthorizedDetail('GET', '/v2'), null);
  t.deepEqual(unauthorizedDetail('PATCH', '/v2/a/b/c/blobs/uploads/123'), [
    { Type: 'repository', Class: '', Name: 'a/b/c', Action: 'pull' },
    { Type: 'repository', Class: '', Name: 'a/b/c', Action: 'push' },
  ]);
  t.deepEqual(unauthorizedDetail('GET', '/v2/lib/referrers/sha256:' + 'b'.repeat(64)), [
    { Type: 'repository', Class: '', Name: 'lib', Action: 'pull' },
  ]);
  t.is(unauthorizedDetail('GET', '/v2/not-a-route'), null);
});

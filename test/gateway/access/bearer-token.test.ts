// The gateway's own Bearer tokens: they name the user (or nobody), expire, and cannot be forged.
import test from 'ava';
import { BearerTokens, TOKEN_LIFETIME_SECONDS } from '../../../gateway/access/bearer-token.js';

test('a token names its user until it expires; an anonymous token names nobody', (t) => {
  const tokens = new BearerTokens('secret');
  const now = Date.now();
  const issued = tokens.issue('alice', now);
  t.deepEqual(tokens.verify(issued.token, now), { user: 'alice' });
  t.deepEqual(tokens.verify(issued.token, now + (TOKEN_LIFETIME_SECONDS - 1) * 1000), { user: 'alice' });
  t.is(tokens.verify(issued.token, now + (TOKEN_LIFETIME_SECONDS + 1) * 1000), undefined);
  t.deepEqual(tokens.verify(tokens.issue(undefined, now).token, now), {});
});

test('tokens from another key, or altered, are refused; the same http.secret verifies across replicas', (t) => {
  const issued = new BearerTokens('secret').issue('alice');
  t.deepEqual(new BearerTokens('secret').verify(issued.token), { user: 'alice' }, 'another replica with the same secret');
  t.is(new BearerTokens('other').verify(issued.token), undefined);
  t.is(new BearerTokens().verify(issued.token), undefined);
  const [prefix, , signature] = issued.token.split('.');
  const forged = `${prefix}.${Buffer.from(JSON.stringify({ sub: 'root', exp: 9_999_999_999 })).toString('base64url')}.${signature}`;
  t.is(new BearerTokens('secret').verify(forged), undefined);
  for (const junk of ['', 'rt1', 'rt1.a.b.c', 'x.y.z']) t.is(new BearerTokens('secret').verify(junk), undefined, junk);
});

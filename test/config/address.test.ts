import test from 'ava';
import { connectTarget, displayUrl, formatListenAddress, isLoopbackAddress, parseListenAddress } from '../../common/config/address.js';

test('parses the address forms registry:2 users write', (t) => {
  t.deepEqual(parseListenAddress(':5000'), { kind: 'tcp', host: '', port: 5000 });
  t.deepEqual(parseListenAddress('0.0.0.0:80'), { kind: 'tcp', host: '0.0.0.0', port: 80 });
  t.deepEqual(parseListenAddress('registry.example.com:443'), { kind: 'tcp', host: 'registry.example.com', port: 443 });
  t.deepEqual(parseListenAddress('[::1]:5001'), { kind: 'tcp', host: '::1', port: 5001 });
  t.deepEqual(parseListenAddress('unix:/run/registry/storage.sock'), { kind: 'unix', path: '/run/registry/storage.sock' });
  t.deepEqual(parseListenAddress('127.0.0.1:0'), { kind: 'tcp', host: '127.0.0.1', port: 0 });
});

test('refuses malformed addresses and says what is accepted', (t) => {
  for (const bad of ['5000', 'localhost', '::1:5000', '[::1]', '[nonsense]:5000', ':65536', ':http', 'host name:5000', 'unix:', 'a_b:5000']) {
    const error = t.throws(() => parseListenAddress(bad), undefined, bad);
    t.regex(error?.message ?? '', /":5000", "host:5000", "\[::1\]:5000" or "unix:\/path\/to.sock"/, bad);
  }
});

test('knows which addresses only this machine can reach', (t) => {
  for (const addr of ['127.0.0.1:5001', '127.8.9.10:1', 'localhost:5001', '[::1]:5001', '[::ffff:127.0.0.1]:5001', 'unix:/tmp/s.sock']) {
    t.true(isLoopbackAddress(parseListenAddress(addr)), addr);
  }
  for (const addr of [':5001', '0.0.0.0:5001', '10.0.0.5:5001', '[::]:5001', 'storage:5001', '[fe80::1]:5001']) {
    t.false(isLoopbackAddress(parseListenAddress(addr)), addr);
  }
});

test('formats, connects to and displays addresses', (t) => {
  for (const addr of [':5000', '[::1]:5000', 'unix:/x.sock', 'example.com:80']) {
    t.is(formatListenAddress(parseListenAddress(addr)), addr);
  }
  t.deepEqual(connectTarget(parseListenAddress(':5000')), { host: '127.0.0.1', port: 5000 });
  t.deepEqual(connectTarget(parseListenAddress('[::]:5000')), { host: '::1', port: 5000 });
  t.deepEqual(connectTarget(parseListenAddress('unix:/x.sock')), { socketPath: '/x.sock' });
  t.is(displayUrl(parseListenAddress(':5000'), 'http'), 'http://0.0.0.0:5000');
  t.is(displayUrl(parseListenAddress('[::1]:443'), 'https'), 'https://[::1]:443');
});

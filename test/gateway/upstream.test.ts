// Where the gateway finds storage: every address form the configuration accepts for
// storageservice.addr, read by the same parser that checked it.
import test from 'ava';
import { targetOf } from '../../gateway/upstream.js';

test('storageservice.addr: ":5001" (all interfaces) is reached on loopback, like every accepted form', (t) => {
  t.deepEqual(targetOf({ addr: ':5001' }), { protocol: 'http:', host: '127.0.0.1', port: 5001 });
  t.deepEqual(targetOf({ addr: '127.0.0.1:5001' }), { protocol: 'http:', host: '127.0.0.1', port: 5001 });
  t.deepEqual(targetOf({ addr: '[::1]:5001' }), { protocol: 'http:', host: '::1', port: 5001 });
  t.deepEqual(targetOf({ addr: 'storage:5001' }), { protocol: 'http:', host: 'storage', port: 5001 });
  t.deepEqual(targetOf({ addr: 'unix:/run/storage.sock' }), { protocol: 'http:', host: 'localhost', port: 80, socketPath: '/run/storage.sock' });
  t.throws(() => targetOf({ addr: 'storage' }), { message: /^storageservice\.addr: expected/ });
});

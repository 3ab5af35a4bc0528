// Storage taking a body slower than the client sends it is not the client's silence: the gateway
// stops reading from the client while storage drains, and its silence timer used to cut the
// client off meanwhile (access log: 404, incomplete; storage: 202 once it caught up).
import test from 'ava';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { runGateway } from '../../gateway/main.js';
import { testConfig } from '../helpers/config.js';
import { captureLogger } from './helpers/capture-logger.js';

test('an upload that storage reads nothing of for longer than the silence limit still gets storage\'s answer', async (t) => {
  // Fake storage: reads nothing for 5 s (a stalled disk), then the whole body, then answers 202.
  const storage = http.createServer((req, res) => {
    req.pause();
    setTimeout(() => {
      req.on('end', () => {
        res.statusCode = 202;
        res.end();
      });
      req.resume();
    }, 5000);
  });
  await new Promise<void>((resolve) => storage.listen(0, '127.0.0.1', resolve));
  t.teardown(() => storage.close());
  const logs = captureLogger('info');
  const storageUrl = `http://127.0.0.1:${(storage.address() as AddressInfo).port}`;
  const gateway = await runGateway(testConfig({ storageservice: { addr: '127.0.0.1:1', url: storageUrl } }), logs.logger, { clientSilenceMs: 2000, closeGraceMs: 500 });
  t.teardown(() => gateway.close());

  const body = Buffer.alloc(32 * 1024 * 1024, 1);
  const outcome = await new Promise<number | string>((resolve) => {
    const req = http.request(`${gateway.urls[0]}/v2/slow/disk/blobs/uploads/x`, { method: 'PATCH', agent: false, headers: { 'content-length': body.length } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
    req.end(body);
  });
  t.is(outcome, 202);
  const line = logs.lines().find((l) => l.msg === 'request');
  t.is(line?.status, 202);
  t.is(line?.incomplete, undefined);
});

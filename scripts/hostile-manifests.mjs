#!/usr/bin/env node
// A crowd of expensive manifest PUTs, to measure storage's memory under them (scripts/peak-rss.mjs
// --pid): each of --clients clients PUTs, in turn, a 5 MiB manifest listing one blob 35,000 times
// (the gateway refuses it: 413), a 1.3 MiB one listing 9,000 unknown blobs (400 after the
// reference checks) and 4 MiB of nested `[` (400 MANIFEST_INVALID), for --seconds.
//
//   node scripts/hostile-manifests.mjs --url http://127.0.0.1:5000 [--user U --pass P] [--clients 20] [--seconds 20]
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    url: { type: 'string' },
    user: { type: 'string' },
    pass: { type: 'string' },
    clients: { type: 'string', default: '20' },
    seconds: { type: 'string', default: '20' },
  },
});
if (!values.url) {
  process.stderr.write('usage: node scripts/hostile-manifests.mjs --url URL [--user U --pass P] [--clients 20] [--seconds 20]\n');
  process.exit(2);
}
const headers = { 'content-type': 'application/vnd.oci.image.manifest.v1+json' };
if (values.user !== undefined) headers.authorization = `Basic ${Buffer.from(`${values.user}:${values.pass ?? ''}`).toString('base64')}`;
const hex = (i) => i.toString(16).padStart(64, '0');
const layer = (i) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: `sha256:${hex(i)}`, size: 1 });
const manifest = (count, sameBlob) =>
  Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: `sha256:${hex(1)}`, size: 1 },
      layers: Array.from({ length: count }, (_, i) => layer(sameBlob ? 7 : i)),
    }),
  );
const bodies = [manifest(35_000, true), manifest(9_000, false), Buffer.from('['.repeat(4 * 1024 * 1024 - 100))];
const end = Date.now() + Number(values.seconds) * 1000;
const statuses = {};
let sent = 0;
await Promise.all(
  Array.from({ length: Number(values.clients) }, async (_, client) => {
    while (Date.now() < end) {
      const body = bodies[(client + sent++) % bodies.length];
      let outcome;
      try {
        const res = await fetch(`${values.url}/v2/hostile/app/manifests/t${client}`, { method: 'PUT', body, headers });
        await res.arrayBuffer();
        outcome = res.status;
      } catch (err) {
        outcome = err.cause?.code ?? err.message;
      }
      statuses[outcome] = (statuses[outcome] ?? 0) + 1;
    }
  }),
);
process.stdout.write(`${sent} manifest PUTs in ${values.seconds} s; outcomes ${JSON.stringify(statuses)}\n`);

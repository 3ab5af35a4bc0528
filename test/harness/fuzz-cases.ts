// The fuzzer's generators, one per category of hostile input. Each case draws everything from its
// own seeded PRNG and sends its requests through `FuzzIO`, which applies the checks (no 5xx, an
// answer in time, no auth bypass, no spoofed Location): a case only has to be nasty.
import { createHash } from 'node:crypto';
import { MEDIA } from '../helpers/storage-fixtures.js';
import type { Prng } from './prng.js';
import type { RawResponse } from './raw-http.js';

export type AuthMode = 'user' | 'none' | 'wrong';

export interface RequestSpec {
  method: string;
  /** The request target exactly as sent (raw UTF-8 allowed). */
  target: string;
  headers?: Array<[string, string]>;
  body?: Buffer;
  /** Valid credentials (default), none, or a wrong password. */
  auth?: AuthMode;
  /** The Host header: default 127.0.0.1:<port>; null sends none. */
  host?: string | null;
  /** Add Content-Length for the body (default true). */
  contentLength?: boolean;
  /** Request line protocol (default HTTP/1.1). */
  version?: string;
  /** Send the request in this many pieces with pauses (a slow client). */
  slow?: { pieces: number; pauseMs: number };
  /** Raw bytes instead of a generated request (garbage, TLS hello); `method` is still used for parsing. */
  raw?: Buffer;
  timeoutMs?: number;
}

export interface Fixture {
  name: string;
  tag: string;
  manifestDigest: string;
  manifest: Buffer;
  configDigest: string;
  config: Buffer;
  layerDigest: string;
  layer: Buffer;
  /** A second repository holding the same image (for cross-repository mounts). */
  otherName: string;
}

export interface FuzzIO {
  prng: Prng;
  fixture: Fixture;
  /** Part of every name that could end up as a file: the harness searches the disk for it. */
  marker: string;
  send(spec: RequestSpec): Promise<RawResponse | undefined>;
  /** Several requests on one connection, written at once; all must be answered in order. */
  pipeline(specs: RequestSpec[]): Promise<void>;
}

export type Category = (io: FuzzIO) => Promise<void>;

const sha = (data: Buffer | string) => `sha256:${createHash('sha256').update(data).digest('hex')}`;

// ---------------------------------------------------------------- names, references, digests

function badName(p: Prng, marker: string): string {
  const deep = '../'.repeat(p.int(1, 12));
  const options = [
    () => `${deep}${marker}`,
    () => `fuzz/${deep}etc/${marker}`,
    () => `..%2f..%2f${marker}`,
    () => `%2e%2e/%2e%2e/${marker}`,
    () => `fuzz/%2e%2e%2f${marker}`,
    () => `${marker}/ünïcödé`,
    () => `${marker}/%C3%BC%E2%80%AE`,
    () => `${marker}/名前`,
    () => `${marker}/\u202e`,
    () => 'a'.repeat(p.int(200, 5000)),
    () => `${'abcdefgh/'.repeat(p.int(20, 400))}${marker}`,
    () => `Fuzz/${marker}`,
    () => marker.toUpperCase(),
    () => `${marker}//x`,
    () => `/${marker}`,
    () => `${marker}/`,
    () => `${marker}/.`,
    () => `${marker}/./x`,
    () => `${marker}%00x`,
    () => `${marker}%0d%0aX-Injected:%201`,
    () => `${marker}%5c..%5c..`,
    () => `${marker}%20`,
    () => `${marker}-`,
    () => `_${marker}`,
    () => `${marker}/_uploads`,
    () => `fuzz/app/_manifests`,
    () => `fuzz/app/_layers/sha256`,
    () => '',
    () => `${marker}/${p.hex(4)}`,
    () => `${marker};x=1`,
    () => `${marker}?x=`,
    () => `${marker}#frag`,
    () => `%252e%252e/${marker}`,
  ];
  return p.pick(options)();
}

function badReference(p: Prng, marker: string): string {
  return p.pick([
    () => 'a'.repeat(p.int(129, 3000)),
    () => `..`,
    () => `../${marker}`,
    () => `%2e%2e%2f${marker}`,
    () => `-${marker}`,
    () => `.${marker}`,
    () => `${marker}:v1`,
    () => `tag/${marker}`,
    () => `ünï${marker}`,
    () => `${marker}%00`,
    () => '',
    () => `sha256:${p.hex(p.int(1, 70))}`,
    () => `sha256:${p.hex(64).toUpperCase()}`,
    () => `sha512:${p.hex(64)}`,
    () => `sha512:${p.hex(128)}`,
    () => `md5:${p.hex(32)}`,
    () => `SHA256:${p.hex(64)}`,
    () => `sha256+b64:${p.hex(64)}`,
    () => `sha256:${p.hex(64)}`,
    () => `__proto__`,
    () => `constructor:${p.hex(64)}`,
    () => `sha256:`,
    () => `:${p.hex(64)}`,
  ])();
}

function badDigest(p: Prng, marker: string): string {
  return p.pick([
    () => `sha256:${p.hex(p.int(0, 63))}`,
    () => `sha256:${p.hex(p.int(65, 200))}`,
    () => `sha256:${p.hex(64).toUpperCase()}`,
    () => `sha512:${p.hex(64)}`,
    () => `sha384:${p.hex(96)}`,
    () => `md5:${p.hex(32)}`,
    () => `sha256:${p.hex(64)}`,
    () => `sha256:..%2f..%2f${marker}`,
    () => `sha256:${'g'.repeat(64)}`,
    () => `${p.hex(64)}`,
    () => `sha256%3a${p.hex(64)}`,
    () => `sha256:${p.hex(62)}%00`,
    () => `toString:${p.hex(64)}`,
  ])();
}

export const names: Category = async (io) => {
  const { prng: p, fixture: f } = io;
  const name = badName(p, io.marker);
  const digest = p.bool(0.5) ? f.layerDigest : badDigest(p, io.marker);
  const spec = p.pick<RequestSpec>([
    { method: 'GET', target: `/v2/${name}/tags/list` },
    { method: 'GET', target: `/v2/${name}/manifests/${p.pick(['v1', f.manifestDigest])}` },
    { method: 'HEAD', target: `/v2/${name}/blobs/${digest}` },
    { method: 'GET', target: `/v2/${name}/blobs/${digest}` },
    { method: 'POST', target: `/v2/${name}/blobs/uploads/` },
    { method: 'POST', target: `/v2/${name}/blobs/uploads/?digest=${sha(f.layer)}`, body: f.layer },
    { method: 'POST', target: `/v2/${name}/blobs/uploads/?mount=${f.layerDigest}&from=${f.name}` },
    { method: 'POST', target: `/v2/${f.name}/blobs/uploads/?mount=${f.layerDigest}&from=${name}` },
    { method: 'PUT', target: `/v2/${name}/manifests/${io.marker}`, body: f.manifest, headers: [['content-type', MEDIA.ociManifest]] },
    { method: 'DELETE', target: `/v2/${name}/manifests/${f.manifestDigest}` },
    { method: 'GET', target: `/v2/${name}/referrers/${f.manifestDigest}` },
    { method: 'GET', target: `/v2/_catalog?n=${p.int(-5, 100000)}&last=${encodeURIComponent(name)}` },
  ]);
  await io.send({ ...spec, auth: p.bool(0.9) ? 'user' : p.pick(['none', 'wrong']) });
};

export const references: Category = async (io) => {
  const { prng: p, fixture: f } = io;
  const ref = badReference(p, io.marker);
  const digest = badDigest(p, io.marker);
  const spec = p.pick<RequestSpec>([
    { method: 'GET', target: `/v2/${f.name}/manifests/${ref}` },
    { method: 'HEAD', target: `/v2/${f.name}/manifests/${ref}` },
    { method: 'PUT', target: `/v2/${f.name}/manifests/${ref}`, body: f.manifest, headers: [['content-type', MEDIA.ociManifest]] },
    { method: 'DELETE', target: `/v2/${f.name}/manifests/${ref}` },
    { method: 'GET', target: `/v2/${f.name}/blobs/${digest}` },
    { method: 'HEAD', target: `/v2/${f.name}/blobs/${digest}` },
    { method: 'DELETE', target: `/v2/${f.name}/blobs/${digest}` },
    { method: 'GET', target: `/v2/${f.name}/referrers/${digest}?artifactType=${encodeURIComponent(ref)}` },
    { method: 'POST', target: `/v2/${f.name}/blobs/uploads/?mount=${digest}&from=${f.otherName}` },
    { method: 'POST', target: `/v2/${f.name}/blobs/uploads/?digest=${digest}`, body: io.prng.bytes(io.prng.int(0, 300)) },
    { method: 'GET', target: `/v2/${f.name}/tags/list?n=${p.pick(['-1', '0', 'abc', '99999999999999999999', '1e3'])}&last=${encodeURIComponent(ref)}` },
    { method: p.pick(['PATCH', 'OPTIONS', 'TRACE', 'CONNECT', 'PROPFIND', 'FOO']), target: `/v2/${f.name}/manifests/${f.tag}` },
  ]);
  await io.send(spec);
};

// ---------------------------------------------------------------- upload sequences

async function openUpload(io: FuzzIO, name = io.fixture.name): Promise<string | undefined> {
  const res = await io.send({ method: 'POST', target: `/v2/${name}/blobs/uploads/` });
  const location = res?.headers.location;
  if (res?.status !== 202 || !location) return undefined;
  const url = new URL(location, 'http://placeholder');
  return url.pathname + url.search;
}

const withDigest = (path: string, digest: string) => `${path}${path.includes('?') ? '&' : '?'}digest=${encodeURIComponent(digest)}`;

export const uploads: Category = async (io) => {
  const { prng: p, fixture: f } = io;
  const data = p.bytes(p.int(0, 70_000));
  const digest = sha(data);
  const scenario = p.int(0, 9);
  if (scenario === 9) {
    // Session ids that were never handed out.
    const id = p.pick(['00000000-0000-0000-0000-000000000000', `..%2f..%2f${io.marker}`, `../${io.marker}`, p.hex(p.int(1, 300)), '%00', 'a/b', `${io.marker}%2F..`]);
    const method = p.pick(['GET', 'PATCH', 'PUT', 'DELETE']);
    await io.send({ method, target: method === 'PUT' ? withDigest(`/v2/${f.name}/blobs/uploads/${id}`, digest) : `/v2/${f.name}/blobs/uploads/${id}`, body: method === 'PATCH' || method === 'PUT' ? data : undefined });
    return;
  }
  const location = await openUpload(io);
  if (!location) return;
  switch (scenario) {
    case 0: {
      // Out-of-order or malformed Content-Range.
      const ranges = ['5-10', `${data.length}-${data.length + 10}`, '10-5', 'bytes=0-9', '0-', '-5', 'abc', '0-99999999999999999999', `0-${Math.max(0, data.length - 2)}`, '1-1', '', '0-0,1-1'];
      const first = await io.send({ method: 'PATCH', target: location, body: data, headers: [['content-type', 'application/octet-stream'], ['content-range', p.pick(ranges)]] });
      const next = first?.headers.location ? new URL(first.headers.location, 'http://x').pathname + new URL(first.headers.location, 'http://x').search : location;
      await io.send({ method: 'PATCH', target: next, body: data.subarray(0, p.int(0, data.length)), headers: [['content-range', p.pick(ranges)]] });
      await io.send({ method: 'PUT', target: withDigest(next, digest) });
      break;
    }
    case 1:
      // PUT without PATCH: no body, a wrong digest, or none at all.
      await io.send({ method: 'PUT', target: p.pick([withDigest(location, digest), withDigest(location, sha('')), location, withDigest(location, badDigest(p, io.marker))]) });
      break;
    case 2: {
      // Wrong digest, then the right one (the session ends on the first failure).
      await io.send({ method: 'PATCH', target: location, body: data });
      await io.send({ method: 'PUT', target: withDigest(location, sha(p.bytes(8))) });
      await io.send({ method: 'PUT', target: withDigest(location, digest) });
      break;
    }
    case 3: {
      // Double completion, and a PATCH after completion.
      await io.send({ method: 'PUT', target: withDigest(location, digest), body: data });
      await io.send({ method: 'PUT', target: withDigest(location, digest), body: data });
      await io.send({ method: 'PATCH', target: location, body: data });
      break;
    }
    case 4: {
      // Cancelled, then used.
      await io.send({ method: 'DELETE', target: location });
      await io.send({ method: p.pick(['GET', 'PATCH', 'PUT', 'DELETE']), target: withDigest(location, digest), body: data });
      break;
    }
    case 5: {
      // The state token tampered with.
      const tampered = location.replace(/_state=[^&]*/, `_state=${p.pick(['', 'AAAA', encodeURIComponent('{"offset":-1}'), p.hex(p.int(1, 400))])}`);
      await io.send({ method: p.pick(['PATCH', 'PUT', 'GET']), target: withDigest(tampered, digest), body: data });
      break;
    }
    case 6: {
      // Two PATCHes racing on one session.
      await Promise.all([
        io.send({ method: 'PATCH', target: location, body: data, headers: [['content-range', `0-${Math.max(0, data.length - 1)}`]] }),
        io.send({ method: 'PATCH', target: location, body: data }),
      ]);
      await io.send({ method: 'PUT', target: withDigest(location, digest) });
      break;
    }
    case 7: {
      // Completion with a body and a lying Content-Type / size.
      await io.send({ method: 'PUT', target: withDigest(location, digest), body: data, headers: [['content-type', p.pick(['text/html', 'application/json', 'multipart/form-data; boundary=x', ''])]] });
      break;
    }
    default: {
      // Chunked body, and a zero-length PATCH.
      await io.send({ method: 'PATCH', target: location, body: chunkedBody(p, data), contentLength: false, headers: [['transfer-encoding', 'chunked']] });
      await io.send({ method: 'PATCH', target: location, body: Buffer.alloc(0) });
      await io.send({ method: 'PUT', target: withDigest(location, digest) });
    }
  }
};

function chunkedBody(p: Prng, data: Buffer): Buffer {
  const parts: Buffer[] = [];
  for (let offset = 0; offset < data.length; ) {
    const size = Math.min(data.length - offset, p.int(1, 20_000));
    parts.push(Buffer.from(`${size.toString(16)}\r\n`), data.subarray(offset, offset + size), Buffer.from('\r\n'));
    offset += size;
  }
  parts.push(Buffer.from('0\r\n\r\n'));
  return Buffer.concat(parts);
}

// ---------------------------------------------------------------- ranges

export const ranges: Category = async (io) => {
  const { prng: p, fixture: f } = io;
  const size = f.layer.length;
  const range = p.pick([
    'bytes=0-0',
    `bytes=-${p.int(0, size * 2)}`,
    `bytes=${p.int(0, size * 2)}-`,
    `bytes=${p.int(0, size)}-${p.int(0, size)}`,
    `bytes=${size}-${size + 10}`,
    'bytes=0-1,3-4,5-6',
    'bytes=99999999999999999999-',
    'bytes=-0',
    'bytes=a-b',
    'bytes=',
    'items=0-1',
    `bytes=0-${'9'.repeat(p.int(10, 400))}`,
    ` bytes = 1 - 2 `,
    'bytes=1-2-3',
    `bytes=${'0-1,'.repeat(p.int(10, 2000))}0-1`,
  ]);
  const headers: Array<[string, string]> = [['range', range]];
  if (p.bool(0.3)) headers.push(['if-range', p.pick(['"x"', f.layerDigest, 'Wed, 21 Oct 2015 07:28:00 GMT'])]);
  await io.send({ method: p.pick(['GET', 'GET', 'HEAD']), target: `/v2/${f.name}/blobs/${p.pick([f.layerDigest, f.configDigest])}`, headers });
};

// ---------------------------------------------------------------- manifests

function manifestBody(io: FuzzIO): { body: Buffer; type: string } {
  const { prng: p, fixture: f } = io;
  const layer = { mediaType: MEDIA.ociLayer, digest: f.layerDigest, size: f.layer.length };
  const config = { mediaType: MEDIA.ociConfig, digest: f.configDigest, size: f.config.length };
  const missing = () => ({ mediaType: MEDIA.ociLayer, digest: sha(p.bytes(16)), size: p.int(0, 1000) });
  const type = p.pick([MEDIA.ociManifest, MEDIA.ociIndex, MEDIA.dockerManifest, MEDIA.dockerList, MEDIA.dockerSchema1, 'application/json', 'text/plain', '', 'application/vnd.oci.image.manifest.v1+json; charset=utf-8', 'x/'.repeat(200)]);
  const json = (value: unknown) => Buffer.from(JSON.stringify(value));
  const kind = p.int(0, 13);
  switch (kind) {
    case 0:
      return { body: f.manifest.subarray(0, p.int(0, f.manifest.length - 1)), type };
    case 1:
      return { body: p.bytes(p.int(1, 5000)), type };
    case 2: {
      // Deep nesting: storage must not parse itself into a stall.
      const depth = p.pick([100, 1000, 10_000, 100_000, 1_000_000]);
      return { body: Buffer.from(`${'['.repeat(depth)}${p.bool() ? ']'.repeat(depth) : ''}`), type };
    }
    case 3: {
      // Huge: over the 4 MiB limit, mostly a little, now and then a lot.
      const mib = p.bool(0.85) ? p.int(4, 6) : p.int(10, 16);
      const pad = 'x'.repeat(mib * 1024 * 1024);
      return { body: json({ schemaVersion: 2, mediaType: MEDIA.ociManifest, config, layers: [layer], annotations: { pad } }), type: MEDIA.ociManifest };
    }
    case 4: {
      // Many references to one blob (de-duplication and bounded checking).
      const count = p.pick([100, 1000, 5000, 20_000]);
      return { body: json({ schemaVersion: 2, mediaType: MEDIA.ociManifest, config, layers: Array.from({ length: count }, () => layer) }), type: MEDIA.ociManifest };
    }
    case 5: {
      // Many references to missing blobs.
      const count = p.pick([1, 10, 500, 3000]);
      return { body: json({ schemaVersion: 2, mediaType: MEDIA.ociManifest, config, layers: Array.from({ length: count }, missing) }), type: MEDIA.ociManifest };
    }
    case 6:
      return { body: json({ schemaVersion: 2, mediaType: MEDIA.ociIndex, manifests: Array.from({ length: p.int(1, 50) }, () => ({ ...missing(), mediaType: MEDIA.ociManifest })) }), type: MEDIA.ociIndex };
    case 7:
      return { body: json(p.pick([null, [], 'x', 42, true, {}, { schemaVersion: 1 }, { schemaVersion: '2' }, { schemaVersion: 2 }])), type };
    case 8:
      // The body says one media type, the header another.
      return { body: json({ schemaVersion: 2, mediaType: p.pick([MEDIA.dockerManifest, MEDIA.ociIndex, 'evil/type']), config, layers: [layer] }), type };
    case 9:
      // Descriptors with hostile fields.
      return {
        body: json({
          schemaVersion: 2,
          mediaType: MEDIA.ociManifest,
          config: { ...config, size: p.pick([-1, 1.5, 1e300, '12', null, Number.MAX_SAFE_INTEGER + 2]) },
          layers: [{ ...layer, digest: badDigest(p, io.marker), urls: ['file:///etc/passwd', 'http://169.254.169.254/'] }],
        }),
        type: MEDIA.ociManifest,
      };
    case 10:
      // A subject that does not exist, and an artifact type of nonsense.
      return { body: json({ schemaVersion: 2, mediaType: MEDIA.ociManifest, artifactType: p.pick(['', 'x'.repeat(5000), '../../x']), config, layers: [layer], subject: { mediaType: MEDIA.ociManifest, digest: p.pick([sha(p.bytes(4)), badDigest(p, io.marker)]), size: 1 } }), type: MEDIA.ociManifest };
    case 11:
      // BOM, invalid UTF-8, duplicate keys, __proto__.
      return {
        body: Buffer.concat([
          p.pick([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from([0xff, 0xfe]), Buffer.alloc(0)]),
          Buffer.from(`{"schemaVersion":2,"schemaVersion":3,"__proto__":{"polluted":1},"mediaType":"${MEDIA.ociManifest}","config":${JSON.stringify(config)},"layers":[${JSON.stringify(layer)}],"annotations":{"k":"\udc00`),
          Buffer.from([0xc3, 0x28]),
          Buffer.from('"}}'),
        ]),
        type: MEDIA.ociManifest,
      };
    case 12:
      // A valid manifest under a hostile tag (the tag is in the URL; the body is fine).
      return { body: f.manifest, type: MEDIA.ociManifest };
    default:
      // Numbers and strings the parser must survive.
      return { body: Buffer.from(`{"schemaVersion":${p.pick(['1e999999', '-0', '0x2', '2'.repeat(5000), 'NaN'])},"mediaType":"${'\\u0000'.repeat(p.int(1, 2000))}"}`), type };
  }
}

export const manifests: Category = async (io) => {
  const { prng: p, fixture: f } = io;
  const { body, type } = manifestBody(io);
  const reference = p.pick([`fz-${p.hex(6)}`, sha(body), f.tag, badReference(p, io.marker)]);
  const headers: Array<[string, string]> = type === '' ? [] : [['content-type', type]];
  await io.send({ method: 'PUT', target: `/v2/${f.name}/manifests/${reference}`, headers, body, timeoutMs: 60_000 });
};

// ---------------------------------------------------------------- headers and raw HTTP

export const EVIL_HOST = 'evil.example';

export const headers: Category = async (io) => {
  const { prng: p, fixture: f } = io;
  const target = p.pick([`/v2/${f.name}/blobs/uploads/`, '/v2/', `/v2/${f.name}/manifests/${f.tag}`, `/v2/${f.name}/blobs/${f.layerDigest}`, '/v2/_catalog']);
  const method = target.endsWith('/uploads/') ? 'POST' : p.pick(['GET', 'HEAD']);
  const auth: AuthMode = p.bool(0.8) ? 'user' : p.pick(['none', 'wrong']);
  const kind = p.int(0, 15);
  const spec: RequestSpec = { method, target, auth };
  switch (kind) {
    case 0:
      spec.host = p.pick(['user:pass@127.0.0.1', `127.0.0.1:${p.int(65536, 999999)}`, '127.0.0.1:abc', 'x'.repeat(p.int(300, 8000)), '', '[::1', '127.0.0.1:-1', 'evil.example/path', 'a b', '127.0.0.1:5000:1', `${EVIL_HOST}\\@127.0.0.1`, '%65vil.example']);
      break;
    case 1:
      spec.host = null;
      break;
    case 2:
      spec.headers = [['host', EVIL_HOST]];
      break;
    case 3:
      spec.headers = [['x-forwarded-host', EVIL_HOST], ['x-forwarded-proto', p.pick(['https', 'gopher', 'https, http'])], ['x-forwarded-port', '8443']];
      break;
    case 4:
      spec.headers = [['forwarded', p.pick([`host=${EVIL_HOST};proto=https;for=1.2.3.4`, `for=1.2.3.4;host="${EVIL_HOST}:443"`, `for=_hidden, host=${EVIL_HOST}`, 'for="[::1', 'garbage'])], ['x-real-ip', '6.6.6.6']];
      break;
    case 5:
      // Internal headers a client must not be able to set.
      spec.headers = [['x-registry-user', 'admin'], ['x-registry-token', p.hex(32)], ['x-internal-token', p.hex(32)], ['x-accel-redirect', '/etc/passwd']];
      spec.auth = p.pick(['none', 'wrong', 'user']);
      break;
    case 6:
      spec.headers = [['x-big', 'v'.repeat(p.pick([8 * 1024, 20 * 1024, 70 * 1024, 200 * 1024]))]];
      break;
    case 7:
      spec.headers = Array.from({ length: p.pick([100, 500, 3000]) }, (_, i) => [`x-h${i}`, p.hex(8)] as [string, string]);
      break;
    case 8:
      spec.method = p.pick(['POST', 'PUT', 'PATCH']);
      spec.contentLength = false;
      spec.body = Buffer.from('abc');
      spec.headers = [['content-length', p.pick(['-1', 'abc', '3, 4', '1e3', ' 3', '0x3', '99999999999999999999', ''])]];
      break;
    case 9:
      spec.method = 'POST';
      spec.contentLength = false;
      spec.body = Buffer.from('3\r\nabc\r\n0\r\n\r\n');
      spec.headers = [['content-length', '3'], ['content-length', '4'], ['transfer-encoding', p.pick(['chunked', 'gzip, chunked', 'identity', 'chunked, identity'])]];
      break;
    case 10:
      spec.target = p.pick([`http://${EVIL_HOST}/v2/`, `http://127.0.0.1/v2/${f.name}/blobs/uploads/`, '*', `//${EVIL_HOST}/v2/`, '/v2/../../../etc/passwd', '/v2/%2e%2e/%2e%2e/etc/passwd', `/v2/${f.name}/blobs/uploads/?${'a=1&'.repeat(p.int(100, 5000))}`]);
      break;
    case 11:
      spec.version = p.pick(['HTTP/1.0', 'HTTP/0.9', 'HTTP/2.0', 'HTTP/1.2', 'HTTP/9.9', 'FOO/1.1']);
      break;
    case 12:
      spec.headers = [['authorization', p.pick(['Basic', 'Basic ', 'Basic !!!!', `Basic ${Buffer.from('harness').toString('base64')}`, `Basic ${Buffer.from(':').toString('base64')}`, `Bearer ${p.hex(40)}`, `Basic ${'A'.repeat(p.int(1000, 60_000))}`, `Basic ${Buffer.from(`harness:${'x'.repeat(2000)}`).toString('base64')}`, `Basic ${Buffer.from('ü名:pw').toString('base64')}`, 'Digest username="harness"'])]];
      spec.auth = 'none';
      break;
    case 13:
      spec.raw = p.pick([
        p.bytes(p.int(1, 3000)),
        // A TLS ClientHello to the plain-HTTP port (docker and skopeo do this).
        Buffer.from('16030100a5010000a10303' + p.hex(64) + '000020c02bc02fc02cc030cca9cca8c013c014009c009d002f0035c012000a010000580000', 'hex'),
        Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'),
        Buffer.from(`GET /v2/ HTTP/1.1\nHost: 127.0.0.1\n\n`),
        Buffer.from(`GET /v2/ HTTP/1.1\r\nHost: 127.0.0.1\r\nX: a\rb\r\n\r\n`),
        Buffer.from(`GET\t/v2/\tHTTP/1.1\r\n\r\n`),
        Buffer.from(`\r\n\r\n\r\nGET /v2/ HTTP/1.1\r\nHost: a\r\n\r\n`),
      ]);
      break;
    case 14:
      spec.headers = [['expect', p.pick(['100-continue', '200-ok', 'x'])]];
      spec.method = 'POST';
      spec.target = `/v2/${f.name}/blobs/uploads/`;
      break;
    default:
      spec.headers = [['accept', 'x'.repeat(p.int(1, 9000))], ['accept-encoding', p.pick(['gzip', 'br', '*;q=0', 'identity;q=0'])], ['if-none-match', `"${f.manifestDigest}"`], ['if-modified-since', 'garbage']];
  }
  await io.send(spec);
};

export const pipelining: Category = async (io) => {
  const { prng: p, fixture: f } = io;
  const pool: RequestSpec[] = [
    { method: 'GET', target: '/v2/' },
    { method: 'HEAD', target: `/v2/${f.name}/blobs/${f.layerDigest}` },
    { method: 'GET', target: `/v2/${f.name}/blobs/${f.configDigest}` },
    { method: 'GET', target: `/v2/${f.name}/manifests/${f.tag}`, headers: [['accept', MEDIA.ociManifest]] },
    { method: 'HEAD', target: `/v2/${f.name}/manifests/${f.manifestDigest}` },
    { method: 'GET', target: `/v2/${f.name}/tags/list` },
    { method: 'GET', target: `/v2/${f.name}/manifests/nope-${p.hex(4)}` },
    { method: 'GET', target: `/v2/${badName(p, io.marker)}/tags/list` },
    { method: 'POST', target: `/v2/${f.name}/blobs/uploads/` },
    { method: 'GET', target: '/v2/', auth: 'none' },
    { method: 'PUT', target: `/v2/${f.name}/manifests/fz-${p.hex(6)}`, body: f.manifest, headers: [['content-type', MEDIA.ociManifest]] },
  ];
  const specs = Array.from({ length: p.int(2, 12) }, () => p.pick(pool));
  await io.pipeline(specs);
};

export const slowClients: Category = async (io) => {
  const { prng: p, fixture: f } = io;
  const pieces = p.int(2, 12);
  const pauseMs = p.int(20, 250);
  const spec = p.pick<RequestSpec>([
    { method: 'GET', target: `/v2/${f.name}/manifests/${f.tag}` },
    { method: 'PATCH', target: `/v2/${f.name}/blobs/uploads/`, body: p.bytes(p.int(10, 5000)) },
    { method: 'POST', target: `/v2/${f.name}/blobs/uploads/?digest=${f.layerDigest}`, body: f.layer },
    { method: 'GET', target: '/v2/', auth: 'none' },
  ]);
  if (spec.method === 'PATCH') {
    const location = await openUpload(io);
    if (!location) return;
    spec.target = location;
  }
  await io.send({ ...spec, slow: { pieces, pauseMs }, timeoutMs: pieces * pauseMs + 15_000 });
};

export const auth: Category = async (io) => {
  const { prng: p, fixture: f } = io;
  const spec = p.pick<RequestSpec>([
    { method: 'GET', target: '/v2/_catalog' },
    { method: 'GET', target: `/v2/${f.name}/tags/list` },
    { method: 'GET', target: `/v2/${f.name}/manifests/${f.tag}` },
    { method: 'GET', target: `/v2/${f.name}/blobs/${f.layerDigest}` },
    { method: 'POST', target: `/v2/${f.name}/blobs/uploads/` },
    { method: 'PUT', target: `/v2/${f.name}/manifests/anon-${p.hex(4)}`, body: f.manifest, headers: [['content-type', MEDIA.ociManifest]] },
    { method: 'DELETE', target: `/v2/${f.name}/manifests/${sha(p.bytes(4))}` },
    { method: 'GET', target: `/v2/${f.name}/referrers/${f.manifestDigest}` },
    { method: 'OPTIONS', target: `/v2/${f.name}/manifests/${f.tag}`, headers: [['origin', `http://${EVIL_HOST}`], ['access-control-request-method', 'PUT']] },
    { method: 'GET', target: '/V2/_catalog' },
    { method: 'GET', target: '//v2/_catalog' },
    { method: 'GET', target: '/v2/_catalog/' },
    { method: 'GET', target: '/v2//_catalog' },
    { method: 'GET', target: '/%76%32/_catalog' },
    { method: 'GET', target: '/v2/_catalog;x' },
    { method: 'GET', target: '/v2/..;/v2/_catalog' },
  ]);
  await io.send({ ...spec, auth: p.pick(['none', 'none', 'wrong']) });
};

export const CATEGORIES: Record<string, { weight: number; run: Category }> = {
  names: { weight: 16, run: names },
  references: { weight: 14, run: references },
  uploads: { weight: 14, run: uploads },
  ranges: { weight: 8, run: ranges },
  manifests: { weight: 12, run: manifests },
  headers: { weight: 16, run: headers },
  pipelining: { weight: 8, run: pipelining },
  slow: { weight: 3, run: slowClients },
  auth: { weight: 9, run: auth },
};

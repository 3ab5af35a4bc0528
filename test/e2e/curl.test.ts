// curl against the registry, directly and through nginx: the 401 challenge, a push by hand
// (monolithic blob uploads and a manifest PUT), blob and manifest downloads checked by sha256,
// catalog and tag listing, and delete by digest (REGISTRY_STORAGE_DELETE_ENABLED=true).
import test from 'ava';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { OciLayoutWriter, sha256, MEDIA_TYPES, type BuiltImage } from '../helpers/oci-image.js';
import { runOk } from './helpers/run.js';
import { useE2eWorld, type Endpoint } from './helpers/world.js';

let layoutDir: string;
let image: BuiltImage;
let counter = 0;

const world = useE2eWorld('curl', async (w) => {
  layoutDir = join(w.dir, 'oci');
  const layout = new OciLayoutWriter(layoutDir);
  image = await layout.addImage({ files: { 'hello.txt': 'hello from curl\n' } });
  layout.tag(image.manifest, 'v1');
  await layout.finish();
});

interface CurlAnswer {
  status: number;
  headers: Map<string, string>;
  body: Buffer;
}

interface CurlRequest {
  method?: string;
  /** Path (`/v2/...`) or absolute URL. */
  target: string;
  auth?: 'user' | 'wrong-password' | 'none';
  headers?: string[];
  /** Request body from this file. */
  dataFile?: string;
}

/** One curl call. Credentials go through a config on stdin (`-K -`), never on the command line. */
async function curl(endpoint: Endpoint, request: CurlRequest): Promise<CurlAnswer> {
  const id = ++counter;
  const bodyFile = join(world().dir, `curl-${id}.body`);
  const headerFile = join(world().dir, `curl-${id}.headers`);
  const url = request.target.startsWith('http') ? request.target : `${endpoint.url}${request.target}`;
  const auth = request.auth ?? 'user';
  const password = auth === 'wrong-password' ? 'not-the-password' : world().registry.password;
  const args = ['-sS', '--max-time', '120', '-K', '-', '-X', request.method ?? 'GET', '-o', bodyFile, '-D', headerFile, '-w', '%{http_code}'];
  for (const header of request.headers ?? []) args.push('-H', header);
  if (request.dataFile) args.push('--data-binary', `@${request.dataFile}`);
  if (request.method === 'HEAD') args.push('-I');
  args.push(url);
  const config = auth === 'none' ? '' : `user = "${world().registry.user}:${password}"\n`;
  const status = Number.parseInt(await runOk('curl', args, { input: config, timeoutMs: 130_000 }), 10);
  const headers = new Map<string, string>();
  // With redirects or 100-continue there are several header blocks: the last one counts.
  const blocks = (await readFile(headerFile, 'utf8')).split(/\r?\n\r?\n/).filter((b) => b.trim());
  for (const line of (blocks.at(-1) ?? '').split(/\r?\n/).slice(1)) {
    const colon = line.indexOf(':');
    if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  const body = await readFile(bodyFile).catch(() => Buffer.alloc(0));
  await rm(bodyFile, { force: true });
  await rm(headerFile, { force: true });
  return { status, headers, body };
}

function blobFile(digest: string): string {
  return join(layoutDir, 'blobs', 'sha256', digest.slice('sha256:'.length));
}

/** Monolithic upload: POST for a session, then one PUT with the bytes and the digest. */
async function pushBlob(endpoint: Endpoint, repo: string, digest: string): Promise<CurlAnswer> {
  const start = await curl(endpoint, { method: 'POST', target: `/v2/${repo}/blobs/uploads/` });
  if (start.status !== 202) throw new Error(`POST uploads: ${start.status} ${start.body.toString()}`);
  const location = start.headers.get('location');
  if (!location) throw new Error('POST uploads: no Location');
  const separator = location.includes('?') ? '&' : '?';
  return curl(endpoint, {
    method: 'PUT',
    target: `${location}${separator}digest=${encodeURIComponent(digest)}`,
    headers: ['Content-Type: application/octet-stream'],
    dataFile: blobFile(digest),
  });
}

for (const label of ['direct', 'nginx'] as const) {
  const endpoint = (): Endpoint => world().endpoint(label);
  const repo = `e2e/curl-${label}`;

  test.serial(`curl without or with wrong credentials gets the Basic challenge (${label})`, async (t) => {
    for (const auth of ['none', 'wrong-password'] as const) {
      const answer = await curl(endpoint(), { target: '/v2/', auth });
      t.is(answer.status, 401, auth);
      t.is(answer.headers.get('www-authenticate'), `Basic realm="${world().registry.realm}"`, auth);
      t.regex(answer.body.toString(), /"code":\s*"UNAUTHORIZED"/, auth);
    }
    t.is((await curl(endpoint(), { target: '/v2/' })).status, 200);
    t.is((await curl(endpoint(), { target: '/v2/_catalog', auth: 'none' })).status, 401);
  });

  test.serial(`curl pushes blobs and a manifest, and reads them back by sha256 (${label})`, async (t) => {
    for (const blob of [image.config, ...image.layers]) {
      const answer = await pushBlob(endpoint(), repo, blob.digest);
      t.is(answer.status, 201, `PUT blob ${blob.digest}: ${answer.body.toString()}`);
      t.is(answer.headers.get('docker-content-digest'), blob.digest);
    }
    const put = await curl(endpoint(), {
      method: 'PUT',
      target: `/v2/${repo}/manifests/v1`,
      headers: [`Content-Type: ${MEDIA_TYPES.manifest}`],
      dataFile: blobFile(image.manifest.digest),
    });
    t.is(put.status, 201, put.body.toString());
    t.is(put.headers.get('docker-content-digest'), image.manifest.digest);

    for (const blob of [image.config, ...image.layers]) {
      const answer = await curl(endpoint(), { target: `/v2/${repo}/blobs/${blob.digest}` });
      t.is(answer.status, 200);
      t.is(sha256(answer.body), blob.digest);
      t.is(answer.body.length, blob.size);
    }
    const manifest = await curl(endpoint(), { target: `/v2/${repo}/manifests/v1`, headers: [`Accept: ${MEDIA_TYPES.manifest}`] });
    t.is(manifest.status, 200);
    t.is(sha256(manifest.body), image.manifest.digest);
    t.is(manifest.headers.get('content-type'), MEDIA_TYPES.manifest);
  });

  test.serial(`curl lists the catalog and the tags (${label})`, async (t) => {
    const catalog = await curl(endpoint(), { target: '/v2/_catalog' });
    t.is(catalog.status, 200);
    const repositories = (JSON.parse(catalog.body.toString()) as { repositories: string[] }).repositories;
    t.true(repositories.includes(repo), JSON.stringify(repositories));
    if (label === 'nginx') t.true(repositories.includes('e2e/curl-direct'), 'both pushes reached the same storage');
    const tags = await curl(endpoint(), { target: `/v2/${repo}/tags/list` });
    t.is(tags.status, 200);
    t.deepEqual(JSON.parse(tags.body.toString()), { name: repo, tags: ['v1'] });
  });

  test.serial(`curl deletes a manifest by digest (${label})`, async (t) => {
    const byDigest = `/v2/${repo}/manifests/${image.manifest.digest}`;
    const deleted = await curl(endpoint(), { method: 'DELETE', target: byDigest });
    t.is(deleted.status, 202, deleted.body.toString());
    t.is((await curl(endpoint(), { target: byDigest, headers: [`Accept: ${MEDIA_TYPES.manifest}`] })).status, 404);
    t.is((await curl(endpoint(), { target: `/v2/${repo}/manifests/v1`, headers: [`Accept: ${MEDIA_TYPES.manifest}`] })).status, 404);
    const tags = await curl(endpoint(), { target: `/v2/${repo}/tags/list` });
    // registry:2 answers 200 with "tags": null once the last tag is gone; a 404 is fine too.
    if (tags.status === 200) {
      const listed = (JSON.parse(tags.body.toString()) as { tags: string[] | null }).tags ?? [];
      t.false(listed.includes('v1'));
    } else {
      t.is(tags.status, 404);
    }
  });
}

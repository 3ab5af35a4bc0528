// The crash harness's clients: pushers that loop until told to stop, each image a new tag, and
// record what the registry acknowledged (manifest PUT answered 201, or skopeo exited 0). The HTTP
// pusher varies the upload flow the way real clients do (one PATCH as skopeo/docker, a monolithic
// PUT as containerd, several ranged PATCHes, a single POST ?digest=) and streams layers from a seed.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { buildOciLayout, readOciLayout, seededChunks } from '../helpers/oci-image.js';
import { MEDIA } from '../helpers/storage-fixtures.js';
import { locationPath, sha256, withQuery, type HttpResponse } from '../helpers/storage-http.js';
import { Prng } from './prng.js';
import type { Traffic } from './traffic.js';

export interface BlobRecord {
  digest: string;
  size: number;
}

export interface AcknowledgedImage {
  pusher: string;
  name: string;
  tag: string;
  digest: string;
  mediaType: string;
  manifest: Buffer;
  blobs: BlobRecord[];
  acknowledgedAt: number;
}

export interface PusherContext {
  traffic: Traffic;
  seed: number;
  /** Largest layer, in bytes. */
  maxLayerBytes: number;
  acknowledged: AcknowledgedImage[];
  /** Failed image attempts outside down windows that were not 5xx (e.g. an unexpected 4xx). */
  surprises: string[];
  stopping: () => boolean;
}

type Flow = 'patch' | 'put' | 'chunks' | 'post';

interface LayerPlan {
  seed: string;
  size: number;
  digest: string;
}

class UnexpectedStatus extends Error {
  constructor(
    readonly what: string,
    readonly res: HttpResponse,
  ) {
    super(`${what}: ${res.status} ${res.text.slice(0, 200)}`);
  }
}

const digestCache = new Map<string, string>();

function seededDigest(seed: string, size: number): string {
  const key = `${seed}\0${size}`;
  let digest = digestCache.get(key);
  if (digest === undefined) {
    const hash = createHash('sha256');
    for (const chunk of seededChunks(seed, size)) hash.update(chunk);
    digest = `sha256:${hash.digest('hex')}`;
    digestCache.set(key, digest);
  }
  return digest;
}

/** Mostly small layers, some medium, now and then one near the maximum. */
function layerSize(prng: Prng, max: number): number {
  const roll = prng.next();
  if (roll < 0.5) return prng.int(1, 64 * 1024);
  if (roll < 0.85) return prng.int(64 * 1024, Math.max(64 * 1024, Math.floor(max / 8)));
  return prng.int(Math.floor(max / 2), max);
}

/** Loops over images until `stopping()`; each failure waits for the registry and starts a new image. */
export async function runHttpPusher(id: number, ctx: PusherContext): Promise<number> {
  let attempts = 0;
  for (let n = 0; !ctx.stopping(); n++) {
    await ctx.traffic.up();
    if (ctx.stopping()) break;
    attempts++;
    const prng = Prng.derive(ctx.seed, `http-${id}-${n}`);
    const started = Date.now();
    try {
      const image = await pushHttpImage(ctx.traffic, prng, `p${id}`, n, ctx.maxLayerBytes);
      ctx.acknowledged.push(image);
    } catch (error) {
      // Failures during a kill are expected; a 4xx while everything was up is worth a look.
      const overlapped = ctx.traffic.windows.some((w) => w.end >= started);
      if (!overlapped && error instanceof UnexpectedStatus && error.res.status < 500) {
        ctx.surprises.push(`pusher p${id} image ${n} (seed ${ctx.seed}): ${error.message}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  return attempts;
}

async function pushHttpImage(traffic: Traffic, prng: Prng, pusher: string, n: number, maxLayerBytes: number): Promise<AcknowledgedImage> {
  // A shared repository and shared layers now and then: concurrent uploads of one blob.
  const name = prng.bool(0.3) ? 'crash/shared' : `crash/${pusher}`;
  const layers: LayerPlan[] = [];
  for (let i = prng.int(1, 3); i > 0; i--) {
    const shared = prng.bool(0.2);
    const seed = shared ? `shared-${prng.int(0, 4)}` : `${pusher}-${n}-${i}-${prng.hex(8)}`;
    const size = shared ? 256 * 1024 + prng.int(0, 4) : layerSize(prng, maxLayerBytes);
    layers.push({ seed, size, digest: seededDigest(seed, size) });
  }
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] }, nonce: `${pusher}-${n}-${prng.hex(16)}` }));
  const configDigest = sha256(config);
  await Promise.all([
    pushBlob(traffic, prng, name, { seed: '', size: config.length, digest: configDigest }, config),
    ...layers.map((layer) => pushBlob(traffic, prng, name, layer)),
  ]);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MEDIA.ociManifest,
      config: { mediaType: MEDIA.ociConfig, digest: configDigest, size: config.length },
      layers: layers.map((l) => ({ mediaType: MEDIA.ociLayer, digest: l.digest, size: l.size })),
    }),
  );
  const tag = `${pusher}-${n}`;
  const put = await traffic.send(`PUT manifest ${name}:${tag}`, `/v2/${name}/manifests/${tag}`, {
    method: 'PUT',
    headers: { 'content-type': MEDIA.ociManifest },
    body: manifest,
  });
  if (put.status !== 201) throw new UnexpectedStatus(`PUT manifest ${name}:${tag}`, put);
  return {
    pusher,
    name,
    tag,
    digest: sha256(manifest),
    mediaType: MEDIA.ociManifest,
    manifest,
    blobs: [{ digest: configDigest, size: config.length }, ...layers.map((l) => ({ digest: l.digest, size: l.size }))],
    acknowledgedAt: Date.now(),
  };
}

function body(layer: LayerPlan, inline: Buffer | undefined, from = 0, to = layer.size): Readable | Buffer {
  if (inline) return inline.subarray(from, to);
  if (from === 0 && to === layer.size) return Readable.from(seededChunks(layer.seed, layer.size));
  // A range of a seeded layer: generated from the start and cut (only for chunked flows, ≤ 16 MiB).
  return Buffer.concat([...seededChunks(layer.seed, to)]).subarray(from, to);
}

async function pushBlob(traffic: Traffic, prng: Prng, name: string, layer: LayerPlan, inline?: Buffer): Promise<void> {
  const expect = (res: HttpResponse, status: number, what: string) => {
    if (res.status !== status) throw new UnexpectedStatus(what, res);
  };
  if (prng.bool(0.5)) {
    const head = await traffic.send(`HEAD blob ${name}`, `/v2/${name}/blobs/${layer.digest}`, { method: 'HEAD' });
    if (head.status === 200) return;
    if (head.status !== 404) throw new UnexpectedStatus(`HEAD blob ${name}`, head);
  }
  const flows: Flow[] = layer.size <= 16 * 1024 * 1024 ? ['patch', 'put', 'chunks', 'post'] : ['patch', 'put'];
  const flow = prng.pick(flows);
  const octet = { 'content-type': 'application/octet-stream' };
  const timeoutMs = 300_000;
  if (flow === 'post') {
    const res = await traffic.send(`POST ?digest ${name}`, `/v2/${name}/blobs/uploads/?digest=${layer.digest}`, {
      method: 'POST',
      headers: { ...octet, 'content-length': String(layer.size) },
      body: body(layer, inline),
      timeoutMs,
    });
    // A registry without single-POST uploads opens a session instead (the spec allows both).
    if (res.status === 201) return;
    expect(res, 202, `POST ?digest ${name}`);
    const put = await traffic.send(`PUT upload ${name}`, withQuery(locationPath(res.header('location')), 'digest', layer.digest), {
      method: 'PUT',
      headers: { ...octet, 'content-length': String(layer.size) },
      body: body(layer, inline),
      timeoutMs,
    });
    expect(put, 201, `PUT upload ${name}`);
    return;
  }
  const started = await traffic.send(`POST upload ${name}`, `/v2/${name}/blobs/uploads/`, { method: 'POST', headers: { 'content-length': '0' } });
  expect(started, 202, `POST upload ${name}`);
  let location = locationPath(started.header('location'));
  if (flow === 'put') {
    const put = await traffic.send(`PUT upload ${name}`, withQuery(location, 'digest', layer.digest), {
      method: 'PUT',
      headers: { ...octet, 'content-length': String(layer.size) },
      body: body(layer, inline),
      timeoutMs,
    });
    expect(put, 201, `PUT monolithic ${name}`);
    return;
  }
  const cuts = flow === 'patch' ? [0, layer.size] : chunkCuts(prng, layer.size);
  for (let i = 0; i + 1 < cuts.length; i++) {
    const [from, to] = [cuts[i]!, cuts[i + 1]!];
    if (to === from) continue;
    // skopeo streams with a length; docker sends chunked: both, at random.
    const chunked = flow === 'patch' && prng.bool(0.3);
    const headers: Record<string, string> = { ...octet, ...(chunked ? {} : { 'content-length': String(to - from) }) };
    if (flow === 'chunks') headers['content-range'] = `${from}-${to - 1}`;
    const patched = await traffic.send(`PATCH ${name} ${from}-${to - 1}`, location, { method: 'PATCH', headers, body: body(layer, inline, from, to), timeoutMs });
    expect(patched, 202, `PATCH ${name}`);
    location = locationPath(patched.header('location'));
  }
  const done = await traffic.send(`PUT upload ${name}`, withQuery(location, 'digest', layer.digest), { method: 'PUT', headers: { 'content-length': '0' } });
  expect(done, 201, `PUT upload ${name}`);
}

function chunkCuts(prng: Prng, size: number): number[] {
  const cuts = new Set([0, size]);
  for (let i = prng.int(1, 4); i > 0; i--) cuts.add(prng.int(0, size));
  return [...cuts].sort((a, b) => a - b);
}

/** skopeo copy of an OCI layout built by the project's image builder; exit 0 is the acknowledgement. */
export async function runSkopeoPusher(id: number, ctx: PusherContext, workDir: string, port: number, creds: string): Promise<number> {
  let attempts = 0;
  for (let n = 0; !ctx.stopping(); n++) {
    await ctx.traffic.up();
    if (ctx.stopping()) break;
    attempts++;
    const prng = Prng.derive(ctx.seed, `skopeo-${id}-${n}`);
    const dir = await mkdtemp(join(workDir, `skopeo-${id}-`));
    const tag = `s${id}-${n}`;
    try {
      const bigLayerMiB = Math.max(1, Math.floor(layerSize(prng, ctx.maxLayerBytes) / (1024 * 1024)));
      const image = await buildOciLayout(dir, tag, { files: { 'hello.txt': `skopeo ${id} image ${n} ${prng.hex(16)}` }, bigLayerMiB, seed: `skopeo-${ctx.seed}-${id}-${n}` });
      const name = `crash/skopeo${id}`;
      const started = Date.now();
      const ok = await promisify(execFile)(
        'skopeo',
        ['copy', '--quiet', '--dest-tls-verify=false', '--dest-creds', creds, `oci:${dir}:${tag}`, `docker://127.0.0.1:${port}/${name}:${tag}`],
        { timeout: 600_000, maxBuffer: 1 << 20 },
      ).then(
        () => true,
        (error: Error) => {
          const overlapped = ctx.traffic.windows.some((w) => w.end >= started);
          if (!overlapped && !ctx.stopping()) ctx.surprises.push(`skopeo ${name}:${tag} failed while the registry was up: ${error.message.slice(0, 500)}`);
          return false;
        },
      );
      if (ok) {
        const layout = await readOciLayout(dir);
        ctx.acknowledged.push({
          pusher: `skopeo${id}`,
          name,
          tag,
          digest: image.manifest.digest,
          mediaType: image.manifest.mediaType,
          manifest: await layout.blob(image.manifest.digest),
          blobs: [image.config, ...image.layers].map((d) => ({ digest: d.digest, size: d.size })),
          acknowledgedAt: Date.now(),
        });
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
  return attempts;
}

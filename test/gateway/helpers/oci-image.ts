// A tiny OCI image layout for client tests (skopeo copy oci:DIR:TAG ...), made without internet:
// one gzip layer with a few files (and optionally a big random one), a config and a manifest.
// The same logic as the shared make-oci-image.sh, kept here so tests depend only on the repo.
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';

const run = promisify(execFile);

export interface OciImage {
  dir: string;
  tag: string;
  manifestDigest: string;
  layerDigest: string;
  configDigest: string;
}

const hex = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');

export async function makeOciImage(outDir: string, tag: string, options: { text?: string; bigBytes?: number } = {}): Promise<OciImage> {
  const work = await mkdtemp(join(tmpdir(), 'oci-image-'));
  try {
    const rootfs = join(work, 'rootfs');
    await mkdir(join(rootfs, 'etc'), { recursive: true });
    await writeFile(join(rootfs, 'hello.txt'), `${options.text ?? `hello from ${tag}`}\n`);
    await writeFile(join(rootfs, 'etc', 'motd'), `probe image ${tag}\n`);
    if (options.bigBytes) await writeFile(join(rootfs, 'big.bin'), randomBytes(options.bigBytes));
    const tarPath = join(work, 'layer.tar');
    await run('tar', ['--sort=name', '--mtime=@0', '--owner=0', '--group=0', '--numeric-owner', '-C', rootfs, '-cf', tarPath, '.']);
    const layerTar = await readFile(tarPath);
    const layer = gzipSync(layerTar);

    const blobs = join(outDir, 'blobs', 'sha256');
    await mkdir(blobs, { recursive: true });
    const put = async (data: Buffer | string) => {
      const digest = hex(data);
      await writeFile(join(blobs, digest), data);
      return { digest: `sha256:${digest}`, size: Buffer.byteLength(data) };
    };
    const layerBlob = await put(layer);
    const config = JSON.stringify({
      created: '1970-01-01T00:00:00Z',
      architecture: 'amd64',
      os: 'linux',
      config: { Cmd: ['/bin/sh'], Env: ['PATH=/bin'] },
      rootfs: { type: 'layers', diff_ids: [`sha256:${hex(layerTar)}`] },
      history: [{ created: '1970-01-01T00:00:00Z', created_by: 'oci-image.ts' }],
    });
    const configBlob = await put(config);
    const manifest = JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...configBlob },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', ...layerBlob }],
    });
    const manifestBlob = await put(manifest);
    await writeFile(join(outDir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
    await writeFile(
      join(outDir, 'index.json'),
      JSON.stringify({
        schemaVersion: 2,
        manifests: [
          {
            mediaType: 'application/vnd.oci.image.manifest.v1+json',
            ...manifestBlob,
            annotations: { 'org.opencontainers.image.ref.name': tag },
          },
        ],
      }),
    );
    return { dir: outDir, tag, manifestDigest: manifestBlob.digest, layerDigest: layerBlob.digest, configDigest: configBlob.digest };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

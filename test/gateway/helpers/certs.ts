// Certificates for TLS tests, made by the project's own certs/make-certs.sh (openssl).
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The repository root, from dist/test/gateway/helpers/. */
export const REPO_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));

export interface MadeCertificate {
  ca: string;
  certificate: string;
  key: string;
  caPem: Buffer;
}

export async function makeCertificate(outDir: string, host: string, ip?: string): Promise<MadeCertificate> {
  const script = join(REPO_ROOT, 'certs', 'make-certs.sh');
  await run('sh', [script, '-o', outDir, host, ...(ip ? [ip] : [])]);
  const ca = join(outDir, 'ca.crt');
  return { ca, certificate: join(outDir, `${host}.crt`), key: join(outDir, `${host}.key`), caPem: await readFile(ca) };
}

// The control socket: how `registry gc` and `registry repo delete` reach the running storage
// process. A unix socket at `<rootdirectory>/_control/storage.sock`, in a directory of mode 700:
// only the user that owns the data directory (and root) can connect, and that user can already
// read and delete every file of it, so the socket gives nobody a power they did not have. No
// network listener, no token to leak, nothing a browser page or another local user can reach
// (the gateway never forwards to it: it is not a /v2 route). registry:2 ignores the folder.
//
//   POST /gc                        {"dryRun": bool, "deleteUntagged": bool} -> 200 GcReport
//                                   409 {"error", "problems"} when a manifest cannot be parsed
//   DELETE /repositories/<name>     -> 202 {repository, manifestsDeleted, tagsDeleted}
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { lstat, mkdir, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { RegistryError } from '../common/errors.js';
import type { Logger } from '../common/logger.js';
import { assertName } from '../common/names.js';
import { GcAbortedError, type GcOptions, type GcReport } from './registry/garbage-collector.js';
import type { Registry } from './registry/registry.js';
import { deleteRepository } from './registry/repository-delete.js';

export const CONTROL_DIR = '_control';
export const CONTROL_SOCKET = 'storage.sock';
// sun_path holds 108 bytes with the terminating NUL.
const MAX_SOCKET_PATH = 107;
const MAX_BODY = 4096;

export function controlSocketPath(rootDirectory: string): string {
  return join(rootDirectory, CONTROL_DIR, CONTROL_SOCKET);
}

export interface ControlActions {
  registry: Registry;
  collect(options: Pick<GcOptions, 'dryRun' | 'deleteUntagged'>): Promise<GcReport>;
}

/** Listens on the control socket; undefined (and a warning) when it cannot be made private. */
export async function openControlSocket(rootDirectory: string, actions: ControlActions, logger: Logger): Promise<Server | undefined> {
  const dir = join(rootDirectory, CONTROL_DIR);
  const path = controlSocketPath(rootDirectory);
  if (Buffer.byteLength(path) > MAX_SOCKET_PATH) {
    logger.warn({ path }, 'control socket path too long for a unix socket: `registry gc` cannot reach this process');
    return undefined;
  }
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const info = await lstat(dir);
  const uid = process.getuid?.() ?? 0;
  if (!info.isDirectory() || info.uid !== uid || (info.mode & 0o077) !== 0) {
    logger.warn({ dir, mode: (info.mode & 0o777).toString(8), uid: info.uid }, 'control directory is not private (mode 700, owned by this user): no control socket');
    return undefined;
  }
  if (await answers(path)) {
    logger.warn({ path }, 'another storage process answers on the control socket of this data directory: not replacing it');
    return undefined;
  }
  await unlink(path).catch(() => undefined); // left by a process that died
  const server = createServer((req, res) => {
    handle(req, res, actions, logger).catch((err: unknown) => {
      logger.error({ err }, 'control request failed');
      if (!res.headersSent) reply(res, 500, { error: (err as Error).message });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => {
      server.off('error', reject);
      resolve();
    });
  });
  logger.info({ path }, 'control socket listening');
  return server;
}

async function handle(req: IncomingMessage, res: ServerResponse, actions: ControlActions, logger: Logger): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://control');
  if (req.method === 'POST' && url.pathname === '/gc') {
    let body: Record<string, unknown>;
    try {
      body = await readJson(req);
    } catch (err) {
      reply(res, 400, { error: `bad control request: ${(err as Error).message}` });
      return;
    }
    const options = { dryRun: body.dryRun === true, deleteUntagged: body.deleteUntagged === true };
    try {
      reply(res, 200, await actions.collect(options));
    } catch (err) {
      if (err instanceof GcAbortedError) reply(res, 409, { error: err.message, problems: err.problems });
      else throw err;
    }
    return;
  }
  const repository = /^\/repositories\/(.+)$/.exec(url.pathname);
  if (req.method === 'DELETE' && repository) {
    req.resume();
    try {
      const name = decodeURIComponent(repository[1]!);
      assertName(name);
      const result = await deleteRepository(actions.registry, name);
      logger.info(result, 'repository deleted (control socket)');
      reply(res, 202, result);
    } catch (err) {
      if (err instanceof RegistryError) reply(res, err.status, { error: err.message, code: err.code });
      else if (err instanceof URIError) reply(res, 400, { error: 'bad repository name' });
      else throw err;
    }
    return;
  }
  req.resume();
  reply(res, 404, { error: 'unknown control request' });
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  let text = '';
  for await (const chunk of req) {
    text += (chunk as Buffer).toString('utf8');
    if (text.length > MAX_BODY) throw new Error('control request too large');
  }
  if (text.trim() === '') return {};
  const value: unknown = JSON.parse(text);
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {};
}

function reply(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

export interface ControlResponse {
  status: number;
  body: unknown;
}

/**
 * Sends a request to the control socket of the storage process serving `rootDirectory`;
 * undefined when none listens there (the registry is stopped).
 */
export async function callControlSocket(rootDirectory: string, method: string, path: string, body?: unknown): Promise<ControlResponse | undefined> {
  const socketPath = controlSocketPath(rootDirectory);
  try {
    if (!(await stat(socketPath)).isSocket()) return undefined;
  } catch {
    return undefined;
  }
  return await new Promise<ControlResponse | undefined>((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = request({ socketPath, method, path, headers: payload ? { 'content-type': 'application/json' } : {} }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => {
        try {
          resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as unknown });
        } catch (err) {
          reject(err as Error);
        }
      });
      res.on('error', reject);
    });
    req.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ECONNREFUSED' || err.code === 'ENOENT') resolve(undefined);
      else reject(err);
    });
    req.end(payload);
  });
}

async function answers(path: string): Promise<boolean> {
  try {
    if (!(await stat(path)).isSocket()) return false;
  } catch {
    return false;
  }
  return await new Promise<boolean>((resolve) => {
    const req = request({ socketPath: path, method: 'GET', path: '/' }, (res) => {
      res.resume();
      resolve(true);
    });
    req.on('error', () => resolve(false));
    req.setTimeout(2000, () => {
      req.destroy();
      resolve(false);
    });
    req.end();
  });
}

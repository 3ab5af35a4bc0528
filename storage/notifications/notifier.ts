// What storage's handlers call when something happened: builds registry:2's event from the request
// (the gateway forwards the user, request id, client address and host) and queues it for every
// endpoint that does not ignore its action or media type. Emitting never waits for an endpoint.
import { hostname } from 'node:os';
import type { Context } from 'koa';
import type { NotificationAction, NotificationEndpoint } from '../../common/config/notifications.js';
import { parseListenAddress } from '../../common/config/address.js';
import {
  CLIENT_ADDR_HEADER,
  EXTERNAL_HOST_HEADER,
  EXTERNAL_PROTO_HEADER,
  INTERNAL_USER_HEADER,
  REQUEST_ID_HEADER,
  decodeUserHeader,
} from '../../common/internal-headers.js';
import type { Logger } from '../../common/logger.js';
import { repositoryPath } from '../http/locations.js';
import { EndpointQueue, type EndpointCounters } from './endpoint-queue.js';
import { BLOB_MEDIA_TYPE, buildEvent, newSource, type EventRequest, type EventSource, type EventTarget } from './events.js';

export class Notifier {
  private readonly queues: EndpointQueue[];
  private readonly source: EventSource;

  constructor(
    endpoints: NotificationEndpoint[],
    logger: Logger,
    /** The gateway's `http.addr`: registry:2 reports `<hostname>:<port>` of its listener. */
    gatewayAddr: string,
    private readonly externalBaseUrl?: string,
  ) {
    this.queues = endpoints.filter((e) => !e.disabled).map((e) => new EndpointQueue(e, logger.child({ component: 'notifications' })));
    this.source = newSource(sourceAddr(gatewayAddr));
  }

  /** Per endpoint: events sent, failed POSTs, events dropped, events pending. */
  counters(): Record<string, EndpointCounters> {
    return Object.fromEntries(this.queues.map((q) => [q.endpoint.name, { ...q.counters }]));
  }

  emit(ctx: Context, action: NotificationAction, target: EventTarget): void {
    if (this.queues.length === 0) return;
    const request = requestOf(ctx);
    const userHeader = ctx.get(INTERNAL_USER_HEADER);
    let event: string | undefined;
    for (const queue of this.queues) {
      const { ignoredActions, ignoredMediaTypes } = queue.endpoint;
      if (ignoredActions.includes(action)) continue;
      if (target.mediaType !== undefined && ignoredMediaTypes.includes(target.mediaType)) continue;
      event ??= JSON.stringify(buildEvent(action, target, request, userHeader ? decodeUserHeader(userHeader) : undefined, this.source));
      queue.pushSerialized(event);
    }
  }

  blob(ctx: Context, action: 'push' | 'pull' | 'mount', repository: string, digest: string, size: number, fromRepository?: string): void {
    if (this.queues.length === 0) return;
    const target: EventTarget = { mediaType: BLOB_MEDIA_TYPE, size, digest, length: size, repository };
    if (fromRepository !== undefined) target.fromRepository = fromRepository;
    target.url = this.url(ctx, repositoryPath(repository, `blobs/${digest}`));
    this.emit(ctx, action, target);
  }

  manifest(ctx: Context, action: 'push' | 'pull', repository: string, manifest: { mediaType: string; digest: string; size: number }, tag?: string): void {
    if (this.queues.length === 0) return;
    const { mediaType, digest, size } = manifest;
    const target: EventTarget = { mediaType, size, digest, length: size, repository, url: this.url(ctx, repositoryPath(repository, `manifests/${digest}`)) };
    if (tag !== undefined) target.tag = tag;
    this.emit(ctx, action, target);
  }

  /** registry:2's event URLs are always absolute: http.host, else the host the client asked for. */
  private url(ctx: Context, path: string): string {
    if (this.externalBaseUrl) return `${this.externalBaseUrl}${path}`;
    const proto = first(ctx.get(EXTERNAL_PROTO_HEADER)) || 'http';
    return `${proto}://${hostOf(ctx)}${path}`;
  }

  /** Gives the endpoints up to `graceMs` to take what is queued, then stops (what is left is logged). */
  async close(graceMs = 2000): Promise<void> {
    await Promise.all(this.queues.map((queue) => queue.close(graceMs)));
  }
}

function first(header: string): string {
  return header.split(',')[0]!.trim();
}

function hostOf(ctx: Context): string {
  const forwarded = ctx.headers[EXTERNAL_HOST_HEADER];
  return forwarded !== undefined ? first(String(forwarded)) : ctx.get('host');
}

function requestOf(ctx: Context): EventRequest {
  return {
    id: (ctx.state.requestId as string | undefined) ?? ctx.get(REQUEST_ID_HEADER),
    addr: ctx.get(CLIENT_ADDR_HEADER) || first(ctx.get('x-forwarded-for')) || ctx.req.socket.remoteAddress || '',
    host: hostOf(ctx),
    method: ctx.method,
    useragent: ctx.get('user-agent'),
  };
}

function sourceAddr(gatewayAddr: string): string {
  try {
    const address = parseListenAddress(gatewayAddr);
    if (address.kind === 'tcp') return `${hostname()}:${address.port}`;
  } catch {
    // fall through
  }
  return hostname();
}

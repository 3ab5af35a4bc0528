// The event envelope registry:2 posts to its notification endpoints
// (`application/vnd.docker.distribution.events.v1+json`), field for field, so a consumer written
// for registry:2 parses these unchanged. What registry:2 2.8 sends was read off a real one
// (test/storage/notifications.test.ts compares the two for the same push and pull).
import { randomUUID } from 'node:crypto';
import type { NotificationAction } from '../../common/config/notifications.js';

export const EVENTS_MEDIA_TYPE = 'application/vnd.docker.distribution.events.v1+json';
/** registry:2 names every blob's media type so in events: it does not know the layer's own. */
export const BLOB_MEDIA_TYPE = 'application/octet-stream';

export interface EventTarget {
  mediaType?: string;
  size?: number;
  digest?: string;
  length?: number;
  repository: string;
  /** Only on `mount`: the repository the blob came from. */
  fromRepository?: string;
  url?: string;
  tag?: string;
}

export interface EventRequest {
  id: string;
  /** The client's address (`ip:port` when it connected directly, as registry:2 reports it). */
  addr: string;
  /** The host the client asked for. */
  host: string;
  method: string;
  useragent: string;
}

export interface Event {
  id: string;
  timestamp: string;
  action: NotificationAction;
  target: EventTarget;
  request: EventRequest;
  /** `{}` for an anonymous request, as registry:2. */
  actor: { name?: string };
  source: { addr: string; instanceID: string };
}

export interface EventSource {
  addr: string;
  instanceID: string;
}

export function newSource(addr: string): EventSource {
  return { addr, instanceID: randomUUID() };
}

export function buildEvent(action: NotificationAction, target: EventTarget, request: EventRequest, user: string | undefined, source: EventSource): Event {
  return {
    id: randomUUID(),
    timestamp: new Date().toISOString(),
    action,
    target,
    request,
    actor: user === undefined ? {} : { name: user },
    source,
  };
}

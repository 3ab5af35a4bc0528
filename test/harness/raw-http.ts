// HTTP/1.1 over a raw node:net socket, for requests no well-behaved client library would send
// (bad Host, two Content-Lengths, unicode in the path, pipelining, bytes dribbled slowly): the
// request goes out exactly as given, and the answers are parsed back as they arrive.
import { connect } from 'node:net';

export interface RawResponse {
  status: number;
  /** Lower-cased names; repeated headers joined with ', '. */
  headers: Record<string, string>;
  body: Buffer;
}

export interface RawExchange {
  responses: RawResponse[];
  /** The server closed the connection (after its answers, or without one). */
  closed: boolean;
  /** Not all expected answers arrived within the time bound, and the connection was still open. */
  timedOut: boolean;
  error?: string;
  /** Milliseconds from the first byte sent to the last answer (or the end). */
  ms: number;
}

/** A piece of the request stream: bytes to write, or a pause (slow clients). */
export type Piece = Buffer | { pauseMs: number };

export interface ExchangeOptions {
  port: number;
  /** The local address to connect from (another loopback address is another client to the server). */
  localAddress?: string;
  pieces: Piece[];
  /** The methods of the requests in `pieces`, in order: HEAD answers have no body. */
  methods: string[];
  timeoutMs: number;
  /** Keep the socket open this long after the last answer, writing nothing (idle probes). */
  lingerMs?: number;
}

export function exchange(options: ExchangeOptions): Promise<RawExchange> {
  return new Promise((resolve) => {
    const started = Date.now();
    const socket = connect({ host: '127.0.0.1', port: options.port, localAddress: options.localAddress });
    const parser = new ResponseParser(options.methods);
    let done = false;
    let closed = false;
    let error: string | undefined;
    const finish = (timedOut: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      parser.end(closed);
      resolve({ responses: parser.responses, closed, timedOut, error, ms: Date.now() - started });
    };
    const timer = setTimeout(() => finish(!closed && parser.responses.length < options.methods.length), options.timeoutMs);
    socket.on('data', (chunk: Buffer) => {
      parser.push(chunk);
      if (parser.responses.length >= options.methods.length) {
        if (options.lingerMs) setTimeout(() => finish(false), options.lingerMs);
        else finish(false);
      }
    });
    socket.on('error', (err) => {
      error = err.message;
    });
    socket.on('close', () => {
      closed = true;
      finish(false);
    });
    socket.on('connect', () => {
      void (async () => {
        for (const piece of options.pieces) {
          if (done || socket.destroyed) return;
          if (Buffer.isBuffer(piece)) {
            if (!socket.write(piece)) await new Promise<void>((r) => socket.once('drain', () => r()).once('close', () => r()));
          } else {
            await new Promise((r) => setTimeout(r, piece.pauseMs));
          }
        }
      })();
    });
  });
}

/** Incremental parser of HTTP/1.x responses: Content-Length, chunked, or until close. */
class ResponseParser {
  readonly responses: RawResponse[] = [];
  private buffer: Buffer = Buffer.alloc(0);
  private tillClose: { status: number; headers: Record<string, string> } | undefined;

  constructor(private readonly methods: string[]) {}

  push(chunk: Buffer): void {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    while (this.tillClose === undefined && this.next()) {
      // parsed one
    }
  }

  end(closed: boolean): void {
    if (this.tillClose && closed) {
      this.responses.push({ ...this.tillClose, body: this.buffer });
      this.tillClose = undefined;
    }
  }

  private next(): boolean {
    const headEnd = this.buffer.indexOf('\r\n\r\n');
    if (headEnd < 0) return false;
    const lines = this.buffer.subarray(0, headEnd).toString('latin1').split('\r\n');
    const match = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? '');
    if (!match) {
      // Not HTTP: keep it as one pseudo-answer so the caller sees something came back.
      this.responses.push({ status: 0, headers: {}, body: this.buffer });
      this.buffer = Buffer.alloc(0);
      return false;
    }
    const status = Number(match[1]);
    const headers: Record<string, string> = {};
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(':');
      if (colon <= 0) continue;
      const name = line.slice(0, colon).trim().toLowerCase();
      const value = line.slice(colon + 1).trim();
      headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
    }
    let rest = this.buffer.subarray(headEnd + 4);
    if (status >= 100 && status < 200) {
      this.buffer = rest;
      return true;
    }
    const method = this.methods[this.responses.length] ?? 'GET';
    let body: Buffer;
    if (method === 'HEAD' || status === 204 || status === 304) {
      body = Buffer.alloc(0);
    } else if (/chunked/i.test(headers['transfer-encoding'] ?? '')) {
      const parsed = parseChunked(rest);
      if (!parsed) return false;
      body = parsed.body;
      rest = rest.subarray(parsed.consumed);
      this.buffer = rest;
      this.responses.push({ status, headers, body });
      return true;
    } else if (headers['content-length'] !== undefined) {
      const length = Number(headers['content-length']);
      if (rest.length < length) return false;
      body = rest.subarray(0, length);
      rest = rest.subarray(length);
    } else {
      this.tillClose = { status, headers };
      this.buffer = rest;
      return false;
    }
    this.buffer = rest;
    this.responses.push({ status, headers, body });
    return true;
  }
}

function parseChunked(data: Buffer): { body: Buffer; consumed: number } | undefined {
  const parts: Buffer[] = [];
  let offset = 0;
  for (;;) {
    const lineEnd = data.indexOf('\r\n', offset);
    if (lineEnd < 0) return undefined;
    const size = parseInt(data.subarray(offset, lineEnd).toString('latin1'), 16);
    if (Number.isNaN(size)) return { body: Buffer.concat(parts), consumed: data.length };
    offset = lineEnd + 2;
    if (size === 0) {
      const trailerEnd = data.indexOf('\r\n', offset);
      if (trailerEnd < 0) return undefined;
      return { body: Buffer.concat(parts), consumed: trailerEnd + 2 };
    }
    if (data.length < offset + size + 2) return undefined;
    parts.push(data.subarray(offset, offset + size));
    offset += size + 2;
  }
}

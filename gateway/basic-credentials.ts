// HTTP Basic credentials out of an Authorization header (RFC 7617). Anything malformed (another
// scheme such as Bearer, bad base64, no colon) is simply "no credentials": the client gets the
// Basic challenge, never a 500.

export interface BasicCredentials {
  user: string;
  password: string;
}

const BASIC_RE = /^Basic[ \t]+([A-Za-z0-9+/]+={0,2})[ \t]*$/i;

export function parseBasicCredentials(header: string | undefined): BasicCredentials | undefined {
  if (!header) return undefined;
  const match = BASIC_RE.exec(header);
  if (!match || match[1]!.length % 4 === 1) return undefined;
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

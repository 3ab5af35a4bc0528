// Raw TLS handshakes for listener tests: which protocol was agreed, which certificate was shown.
import tls from 'node:tls';

export interface Handshake {
  protocol: string | null;
  fingerprint256: string;
}

export function handshake(port: number, options: tls.ConnectionOptions = {}): Promise<Handshake> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, ...options });
    socket.setTimeout(10_000, () => socket.destroy(new Error('handshake timed out')));
    socket.once('secureConnect', () => {
      const result = { protocol: socket.getProtocol(), fingerprint256: socket.getPeerCertificate().fingerprint256 };
      socket.end();
      resolve(result);
    });
    socket.once('error', reject);
  });
}

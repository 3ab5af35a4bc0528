// Reading and checking the certificate/key pair named by `http.tls`.
import { readFile } from 'node:fs/promises';
import { createSecureContext, type SecureContextOptions, type SecureVersion } from 'node:tls';
import { constants, X509Certificate } from 'node:crypto';
import type { TlsConfig } from '../common/config/types.js';

export interface TlsMaterial {
  options: SecureContextOptions & { minVersion: SecureVersion };
  /** For logs: subject, SANs and expiry of the leaf certificate. */
  summary: { subject: string; subjectAltName?: string; validTo: string; fingerprint256: string };
}

/**
 * TLS 1.2 suites: forward-secret key exchange (ECDHE) with an AEAD cipher only, no CBC, no RSA
 * key transport (Mozilla's "intermediate" list). TLS 1.3 suites are all AEAD and keep Node's
 * defaults.
 */
export const TLS12_CIPHERS = [
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
].join(':');

export function minVersionOf(minimumtls: TlsConfig['minimumtls']): SecureVersion {
  return minimumtls === 'tls1.3' ? 'TLSv1.3' : 'TLSv1.2';
}

/**
 * Reads both files and builds a secure context from them, which fails on an unreadable file,
 * bad PEM, or a key that does not belong to the certificate.
 */
export async function loadTlsMaterial(tls: TlsConfig): Promise<TlsMaterial> {
  const [cert, key] = await Promise.all([readFile(tls.certificate), readFile(tls.key)]);
  const options = {
    cert,
    key,
    minVersion: minVersionOf(tls.minimumtls),
    ciphers: TLS12_CIPHERS,
    honorCipherOrder: true,
    // A client-initiated renegotiation costs the server a handshake for free: refuse it.
    secureOptions: constants.SSL_OP_NO_RENEGOTIATION,
  };
  createSecureContext(options);
  const leaf = new X509Certificate(cert);
  return {
    options,
    summary: {
      subject: leaf.subject,
      subjectAltName: leaf.subjectAltName,
      validTo: leaf.validTo,
      fingerprint256: leaf.fingerprint256,
    },
  };
}

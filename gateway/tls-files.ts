// Reading and checking the certificate/key pair named by `http.tls`.
import { readFile } from 'node:fs/promises';
import { createSecureContext, type SecureContextOptions, type SecureVersion } from 'node:tls';
import { X509Certificate } from 'node:crypto';
import type { TlsConfig } from '../common/config/types.js';

export interface TlsMaterial {
  options: SecureContextOptions & { minVersion: SecureVersion };
  /** For logs: subject, SANs and expiry of the leaf certificate. */
  summary: { subject: string; subjectAltName?: string; validTo: string; fingerprint256: string };
}

export function minVersionOf(minimumtls: TlsConfig['minimumtls']): SecureVersion {
  return minimumtls === 'tls1.3' ? 'TLSv1.3' : 'TLSv1.2';
}

/**
 * Reads both files and builds a secure context from them, which fails on an unreadable file,
 * bad PEM, or a key that does not belong to the certificate.
 */
export async function loadTlsMaterial(tls: TlsConfig): Promise<TlsMaterial> {
  const [cert, key] = await Promise.all([readFile(tls.certificate), readFile(tls.key)]);
  const options = { cert, key, minVersion: minVersionOf(tls.minimumtls) };
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

// What starting either process returns: enough for the CLI and tests to find and stop it.
export interface RunningServer {
  /** Listening addresses, e.g. `http://127.0.0.1:5000`, `https://0.0.0.0:443`, `unix:/run/x.sock`. */
  urls: string[];
  close(): Promise<void>;
  /**
   * Graceful stop (SIGTERM): no new connections, requests on open ones still served, for up to
   * `timeoutMs` (http.draintimeout); then as close().
   */
  drain?(timeoutMs: number): Promise<void>;
}

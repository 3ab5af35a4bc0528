// What starting either process returns: enough for the CLI and tests to find and stop it.
export interface RunningServer {
  /** Listening addresses, e.g. `http://127.0.0.1:5000`, `https://0.0.0.0:443`, `unix:/run/x.sock`. */
  urls: string[];
  close(): Promise<void>;
}

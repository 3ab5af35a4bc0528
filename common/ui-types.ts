// What the web UI (gateway/ui/web/, in the browser) and the server (gateway/ui/routes.ts,
// storage/registry/repository-summary.ts) exchange: types only, so the browser bundle can share them.

/** What the page knows at start (embedded in index.html, and GET /ui/api/session). */
export interface SessionInfo {
  authEnabled: boolean;
  user: string | null;
  csrf: string | null;
  deleteEnabled: boolean;
  /** Whether anything can be seen without logging in (an access policy grants anonymous pulls). */
  anonymousBrowsing: boolean;
}

/** One repository of GET /v2/_registry/repositories. */
export interface RepositorySummary {
  name: string;
  tags: number;
  size: number;
  lastPush?: string;
}

/** One tag of GET /v2/_registry/repositories/<name>. */
export interface TagSummary {
  tag: string;
  digest: string;
  mediaType: string;
  /** Sum of the distinct blobs (config and layers) the manifest, or every manifest of the index, references. */
  size: number;
  /** When the tag was last pushed (ISO 8601). */
  pushed?: string;
  /** The image config's `created` (the newest of an index's images). */
  created?: string;
  /** `os/architecture[/variant]` of each image of an index (attestation entries left out). */
  platforms?: string[];
  /** `artifactType` (or the config's media type) of an artifact that is not an image. */
  artifactType?: string;
}

/** GET /v2/_registry/repositories/<name>: the repository's summary and a page of its tags. */
export interface RepositoryDetail extends RepositorySummary {
  tagList: TagSummary[];
}

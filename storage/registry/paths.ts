// The on-disk layout, in one place: exactly registry:2's, so either program can serve a data
// directory the other wrote.
//
//   /docker/registry/v2/
//     blobs/<alg>/<first two hex>/<hex>/data                      the content, by digest
//     repositories/<name>/
//       _layers/<alg>/<hex>/link                                  blob linked into the repository
//       _manifests/revisions/<alg>/<hex>/link                     manifest revision
//       _manifests/tags/<tag>/current/link                        what the tag points to
//       _manifests/tags/<tag>/index/<alg>/<hex>/link              every digest the tag pointed to
//       _uploads/<id>/data, startedat                             an upload session
//       _referrers/<alg>/<subject hex>/<alg>/<hex>                (this project) referrer descriptors
//
// A link file holds the digest as text (`sha256:…`, no newline).
import type { ParsedDigest } from '../../common/digest.js';

export const ROOT = '/docker/registry/v2';
export const REPOSITORIES = `${ROOT}/repositories`;

export const paths = {
  blobData: (d: ParsedDigest) => `${ROOT}/blobs/${d.algorithm}/${d.hex.slice(0, 2)}/${d.hex}/data`,
  blobDir: (d: ParsedDigest) => `${ROOT}/blobs/${d.algorithm}/${d.hex.slice(0, 2)}/${d.hex}`,
  blobsRoot: () => `${ROOT}/blobs`,

  repository: (name: string) => `${REPOSITORIES}/${name}`,
  layerLink: (name: string, d: ParsedDigest) => `${REPOSITORIES}/${name}/_layers/${d.algorithm}/${d.hex}/link`,
  layerLinkDir: (name: string, d: ParsedDigest) => `${REPOSITORIES}/${name}/_layers/${d.algorithm}/${d.hex}`,
  layersRoot: (name: string) => `${REPOSITORIES}/${name}/_layers`,

  manifestsRoot: (name: string) => `${REPOSITORIES}/${name}/_manifests`,
  revisionLink: (name: string, d: ParsedDigest) =>
    `${REPOSITORIES}/${name}/_manifests/revisions/${d.algorithm}/${d.hex}/link`,
  revisionDir: (name: string, d: ParsedDigest) => `${REPOSITORIES}/${name}/_manifests/revisions/${d.algorithm}/${d.hex}`,
  revisionsRoot: (name: string) => `${REPOSITORIES}/${name}/_manifests/revisions`,
  tagsRoot: (name: string) => `${REPOSITORIES}/${name}/_manifests/tags`,
  tagDir: (name: string, tag: string) => `${REPOSITORIES}/${name}/_manifests/tags/${tag}`,
  tagCurrentLink: (name: string, tag: string) => `${REPOSITORIES}/${name}/_manifests/tags/${tag}/current/link`,
  tagIndexLink: (name: string, tag: string, d: ParsedDigest) =>
    `${REPOSITORIES}/${name}/_manifests/tags/${tag}/index/${d.algorithm}/${d.hex}/link`,

  uploadsRoot: (name: string) => `${REPOSITORIES}/${name}/_uploads`,
  uploadDir: (name: string, id: string) => `${REPOSITORIES}/${name}/_uploads/${id}`,
  uploadData: (name: string, id: string) => `${REPOSITORIES}/${name}/_uploads/${id}/data`,
  uploadStartedAt: (name: string, id: string) => `${REPOSITORIES}/${name}/_uploads/${id}/startedat`,

  referrersDir: (name: string, subject: ParsedDigest) =>
    `${REPOSITORIES}/${name}/_referrers/${subject.algorithm}/${subject.hex}`,
  referrer: (name: string, subject: ParsedDigest, d: ParsedDigest) =>
    `${REPOSITORIES}/${name}/_referrers/${subject.algorithm}/${subject.hex}/${d.algorithm}/${d.hex}`,
};

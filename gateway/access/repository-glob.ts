// Repository globs of the access policy: `*` within one path component, `**` across components
// (zero or more: `team/**` matches `team`, `team/a` and `team/a/b`), `{user}` the authenticated
// user's name. Compiled once per policy load to a RegExp; a glob with `{user}` gets one RegExp
// per user name, cached, with the name escaped: it is matched literally, never as a pattern
// (a user called `*` or `a/b` owns exactly the repositories `*/…` or `a/b/…`).

export const USER_PLACEHOLDER = '{user}';

/** Characters a repository name may hold (the OCI name grammar); anything else never matches. */
const NAME_CHARACTER = /[a-z0-9._-]/;

/** Bound on cached per-user RegExps of one glob; a policy reload starts a fresh cache anyway. */
const MAX_CACHED_USERS = 10_000;

export interface RepositoryGlob {
  /** As written in the policy. */
  readonly source: string;
  /** Whether the glob mentions `{user}` (it then never matches for an anonymous request). */
  readonly perUser: boolean;
  /** Whether the glob is `**` alone: every repository. */
  readonly matchesAll: boolean;
  /** `user` is the authenticated user's name, undefined for an anonymous request. */
  matches(repository: string, user: string | undefined): boolean;
}

/** Why a glob was refused; the policy parser adds where it was written. */
export class GlobProblem extends Error {}

export function compileRepositoryGlob(source: string): RepositoryGlob {
  const template = globTemplate(source);
  const perUser = source.includes(USER_PLACEHOLDER);
  const matchesAll = template.length === 1 && template[0] === ANY_PATH;
  if (!perUser) {
    const regex = toRegExp(template, '');
    return { source, perUser, matchesAll, matches: (repository) => regex.test(repository) };
  }
  const byUser = new Map<string, RegExp>();
  return {
    source,
    perUser,
    matchesAll,
    matches(repository, user) {
      if (user === undefined) return false;
      let regex = byUser.get(user);
      if (regex === undefined) {
        if (byUser.size >= MAX_CACHED_USERS) byUser.clear();
        regex = toRegExp(template, escapeRegExp(user));
        byUser.set(user, regex);
      }
      return regex.test(repository);
    },
  };
}

// The glob as RegExp source pieces, with USER standing for the (escaped) user name.
const USER = Symbol('user');
const ANY_PATH = '.*';
type Piece = string | typeof USER;

function globTemplate(source: string): Piece[] {
  if (source === '') throw new GlobProblem('an empty repository glob matches nothing');
  const components = source.split('/');
  if (components.some((component) => component === '')) {
    throw new GlobProblem(`${JSON.stringify(source)}: empty path component (a leading, trailing or doubled "/")`);
  }
  // `**/**` means the same as `**`.
  const collapsed = components.filter((component, i) => !(component === '**' && components[i - 1] === '**'));
  const last = collapsed.length - 1;
  const pieces: Piece[] = [];
  collapsed.forEach((component, i) => {
    if (component === '**') {
      if (last === 0) pieces.push(ANY_PATH);
      else if (i === 0) pieces.push('(?:.*/)?'); // `**/x`: x at any depth, including the top
      else if (i === last) pieces.push('(?:/.*)?'); // `x/**`: x itself and everything under it
      else pieces.push('/(?:.*/)?'); // `x/**/y`: y directly under x or deeper
      return;
    }
    if (i > 0 && collapsed[i - 1] !== '**') pieces.push('/');
    pieces.push(...componentPieces(component, source));
  });
  return pieces;
}

function componentPieces(component: string, source: string): Piece[] {
  if (component.includes('**')) {
    throw new GlobProblem(`${JSON.stringify(source)}: "**" must be a whole path component (as in team/**)`);
  }
  const pieces: Piece[] = [];
  for (let i = 0; i < component.length; i++) {
    const char = component[i]!;
    if (char === '*') {
      pieces.push('[^/]*');
    } else if (component.startsWith(USER_PLACEHOLDER, i)) {
      pieces.push(USER);
      i += USER_PLACEHOLDER.length - 1;
    } else if (char === '{') {
      throw new GlobProblem(`${JSON.stringify(source)}: unknown placeholder (the only one is {user})`);
    } else if (NAME_CHARACTER.test(char)) {
      pieces.push(escapeRegExp(char));
    } else {
      throw new GlobProblem(
        `${JSON.stringify(source)}: ${JSON.stringify(char)} never occurs in a repository name ` +
          '(lower-case letters, digits, ".", "_", "-" and "/"; globs add *, ** and {user})',
      );
    }
  }
  return pieces;
}

function toRegExp(template: Piece[], user: string): RegExp {
  return new RegExp(`^${template.map((piece) => (piece === USER ? user : piece)).join('')}$`, 's');
}

function escapeRegExp(text: string): string {
  return text.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&');
}

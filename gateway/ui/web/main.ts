// The registry's web UI: repositories, a repository's tags, a tag's manifest, config, layers,
// platforms and referrers; login, logout, delete. Plain DOM, hash routes (#/, #/r/<name>,
// #/r/<name>/t/<tag or digest>), everything from this origin.
import {
  ApiError,
  getJson,
  login,
  logout,
  MANIFEST_TYPES,
  mayDelete,
  namePath,
  nextLast,
  request,
  session,
  whenUnauthorized,
  type RepositoryDetail,
  type RepositorySummary,
} from './api.js';
import { h, listTable, show } from './dom.js';
import { formatAge, formatDate, formatSize, shortDigest } from '../../../common/ui-format.js';

const main = document.getElementById('main')!;
const who = document.getElementById('who')!;
const PAGE_SIZE = 1000;
const TAG_PAGE_SIZE = 100;

/** Bumped on every navigation: a page whose data arrives after the user moved on draws nothing. */
let generation = 0;

whenUnauthorized(() => {
  session.user = null;
  session.csrf = null;
  renderLogin('Your session has ended: log in again.');
});

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]!);
}

function needsLogin(): boolean {
  return session.authEnabled && session.user === null && !session.anonymousBrowsing;
}

function renderWho(): void {
  if (!session.authEnabled) return show(who);
  if (session.user) {
    show(who, h('span', { class: 'user' }, session.user), ' ', h('button', { type: 'button', class: 'link', id: 'logout', onclick: onLogout }, 'Log out'));
  } else {
    show(who, h('a', { href: '#/login' }, 'Log in'));
  }
}

async function onLogout(): Promise<void> {
  await logout();
  renderWho();
  location.hash = '#/';
  renderLogin('You are logged out.');
}

function route(): void {
  generation++;
  renderWho();
  const hash = decodeURIComponent(location.hash.replace(/^#/, '')) || '/';
  if (hash === '/login' || needsLogin()) return renderLogin();
  const tagMatch = /^\/r\/(.+)\/t\/([^/]+)$/.exec(hash);
  if (tagMatch) return void renderTag(tagMatch[1]!, tagMatch[2]!);
  const repoMatch = /^\/r\/(.+)$/.exec(hash);
  if (repoMatch) return void renderRepository(repoMatch[1]!);
  void renderRepositories();
}

// ---- login -------------------------------------------------------------------------------

function renderLogin(notice?: string): void {
  renderWho();
  const error = h('p', { class: 'error', role: 'alert' });
  const user = h('input', { id: 'username', name: 'username', autocomplete: 'username', required: true, autofocus: true });
  const password = h('input', { id: 'password', name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const button = h('button', { type: 'submit', class: 'primary' }, 'Log in');
  const form = h(
    'form',
    { class: 'login', onsubmit: (event: Event) => void submit(event) },
    h('h1', null, 'Log in'),
    notice ? h('p', { class: 'muted' }, notice) : null,
    h('label', { for: 'username' }, 'Username'),
    user,
    h('label', { for: 'password' }, 'Password'),
    password,
    button,
    error,
  );
  async function submit(event: Event): Promise<void> {
    event.preventDefault();
    button.disabled = true;
    error.textContent = '';
    try {
      await login(user.value, password.value);
      if (location.hash === '#/login' || location.hash === '') location.hash = '#/';
      else route();
      if (location.hash === '#/') route();
    } catch (e) {
      error.textContent = e instanceof Error ? e.message : String(e);
    } finally {
      button.disabled = false;
    }
  }
  show(main, form);
  user.focus();
}

// ---- repositories ---------------------------------------------------------------------------

const listState = { q: '', cursors: [] as Array<string | undefined>, last: undefined as string | undefined };

async function renderRepositories(): Promise<void> {
  const mine = generation;
  const filter = h('input', { type: 'search', id: 'filter', placeholder: 'Filter by name', value: listState.q, 'aria-label': 'Filter repositories by name' });
  const status = h('span', { class: 'muted', id: 'count' });
  const prev = h('button', { type: 'button', disabled: listState.cursors.length === 0 }, '← Previous');
  const next = h('button', { type: 'button', disabled: true }, 'Next →');
  const table = listTable({ id: 'repositories' }, ['Repository', { num: 'Tags' }, 'Last push', { num: 'Size' }]);
  const body = table.tBodies[0]!;
  show(
    main,
    h('div', { class: 'bar' }, h('h1', null, 'Repositories'), filter, status),
    table,
    h('div', { class: 'pager' }, prev, next),
  );
  let timer: number | undefined;
  filter.addEventListener('input', () => {
    window.clearTimeout(timer);
    timer = window.setTimeout(() => {
      listState.q = filter.value.trim();
      listState.cursors = [];
      listState.last = undefined;
      void renderRepositories().then(() => {
        const again = document.getElementById('filter') as HTMLInputElement | null;
        again?.focus();
        again?.setSelectionRange(again.value.length, again.value.length);
      });
    }, 200);
  });
  prev.addEventListener('click', () => {
    listState.last = listState.cursors.pop();
    void renderRepositories();
  });

  const params = new URLSearchParams({ n: String(PAGE_SIZE) });
  if (listState.q) params.set('q', listState.q);
  if (listState.last) params.set('last', listState.last);
  let answer;
  try {
    answer = await getJson<{ repositories: RepositorySummary[] }>(`/v2/_registry/repositories?${params}`);
  } catch (e) {
    if (mine === generation) status.textContent = failure(e);
    return;
  }
  if (mine !== generation) return;
  const { repositories } = answer.body;
  const now = Date.now();
  // One HTML string for the whole page of rows (a thousand of them): much less work for the
  // browser than a thousand rows of DOM calls. Every value is escaped.
  body.innerHTML = repositories
    .map(
      (repo) =>
        `<tr><td><a href="#/r/${escapeHtml(repo.name)}">${escapeHtml(repo.name)}</a></td><td class="num">${Number(repo.tags)}</td>` +
        `<td title="${escapeHtml(formatDate(repo.lastPush))}">${escapeHtml(formatAge(repo.lastPush, now))}</td><td class="num">${escapeHtml(formatSize(repo.size))}</td></tr>`,
    )
    .join('');
  performance.mark('repositories-shown'); // what the end-to-end test measures
  if (repositories.length === 0) body.append(h('tr', null, h('td', { colspan: 4, class: 'muted' }, listState.q ? 'No repository matches.' : 'No repositories yet: push an image.')));
  const following = nextLast(answer.response);
  status.textContent = `${repositories.length}${following ? '+' : ''} ${repositories.length === 1 ? 'repository' : 'repositories'}`;
  if (following) {
    next.disabled = false;
    next.addEventListener('click', () => {
      listState.cursors.push(listState.last);
      listState.last = following;
      void renderRepositories();
    });
  }
}

// ---- a repository ---------------------------------------------------------------------------

function pullCommand(name: string, reference: string): string {
  const separator = reference.includes(':') ? '@' : ':';
  return `docker pull ${location.host}/${name}${separator}${reference}`;
}

async function copy(text: string, button: HTMLButtonElement): Promise<void> {
  try {
    if (navigator.clipboard && window.isSecureContext) await navigator.clipboard.writeText(text);
    else copyWithSelection(text);
    button.textContent = 'Copied';
  } catch {
    copyWithSelection(text);
    button.textContent = 'Copied';
  }
  window.setTimeout(() => (button.textContent = 'Copy'), 1500);
}

/** Outside a secure context (plain http on a host name) there is no clipboard API. */
function copyWithSelection(text: string): void {
  const area = h('textarea', { class: 'offscreen', readonly: true });
  area.value = text;
  document.body.append(area);
  area.select();
  document.execCommand('copy');
  area.remove();
}

function pullBox(name: string, reference: string): HTMLElement {
  const command = pullCommand(name, reference);
  const button = h('button', { type: 'button', class: 'copy', title: 'Copy the pull command' }, 'Copy');
  button.addEventListener('click', () => void copy(command, button));
  return h('span', { class: 'pull' }, h('code', { class: 'pull-command' }, command), button);
}

async function renderRepository(name: string, last?: string): Promise<void> {
  const mine = generation;
  show(main, h('p', { class: 'crumbs' }, h('a', { href: '#/' }, 'Repositories'), ' / ', name), h('p', { class: 'muted' }, 'Loading…'));
  const params = new URLSearchParams({ n: String(TAG_PAGE_SIZE) });
  if (last) params.set('last', last);
  let detail: RepositoryDetail;
  let response: Response;
  let canDelete = false;
  try {
    [{ body: detail, response }, canDelete] = await Promise.all([
      getJson<RepositoryDetail>(`/v2/_registry/repositories/${namePath(name)}?${params}`),
      mayDelete(name).catch(() => false),
    ]);
  } catch (e) {
    if (mine === generation) show(main, h('p', { class: 'crumbs' }, h('a', { href: '#/' }, 'Repositories'), ' / ', name), h('p', { class: 'error' }, failure(e)));
    return;
  }
  if (mine !== generation) return;
  const rows = detail.tagList.map((tag) => {
    const remove = canDelete
      ? h('button', { type: 'button', class: 'danger', 'data-tag': tag.tag, onclick: () => void deleteTag(name, tag.tag) }, 'Delete')
      : null;
    return h(
      'tr',
      { 'data-tag': tag.tag },
      h('td', null, h('a', { href: `#/r/${name}/t/${tag.tag}` }, tag.tag)),
      h('td', null, h('code', { title: tag.digest }, shortDigest(tag.digest))),
      h('td', null, platformsOf(tag.platforms, tag.artifactType)),
      h('td', { class: 'num' }, formatSize(tag.size)),
      h('td', { title: formatDate(tag.created) }, formatAge(tag.created)),
      h('td', { title: formatDate(tag.pushed) }, formatAge(tag.pushed)),
      h('td', null, pullBox(name, tag.tag)),
      canDelete ? h('td', null, remove) : null,
    );
  });
  const following = nextLast(response);
  show(
    main,
    h('p', { class: 'crumbs' }, h('a', { href: '#/' }, 'Repositories'), ' / ', name),
    h(
      'div',
      { class: 'bar' },
      h('h1', null, name),
      h('span', { class: 'muted' }, `${detail.tags} ${detail.tags === 1 ? 'tag' : 'tags'} · ${formatSize(detail.size)} · last push ${formatAge(detail.lastPush)}`),
      canDelete ? h('button', { type: 'button', class: 'danger', id: 'delete-repository', onclick: () => void deleteRepository(name) }, 'Delete repository') : null,
    ),
    listTable(
      { id: 'tags' },
      ['Tag', 'Digest', 'Platforms', { num: 'Size' }, 'Created', 'Pushed', 'Pull', canDelete ? '' : null],
      rows.length > 0 ? rows : h('tr', null, h('td', { colspan: 8, class: 'muted' }, 'No tags.')),
    ),
    h(
      'div',
      { class: 'pager' },
      last ? h('button', { type: 'button', onclick: () => void renderRepository(name) }, '← First page') : null,
      following ? h('button', { type: 'button', onclick: () => void renderRepository(name, following) }, 'Next →') : null,
    ),
  );
}

function platformsOf(platforms: string[] | undefined, artifactType: string | undefined): HTMLElement {
  if (artifactType && !platforms?.length) return h('span', { class: 'muted' }, artifactType);
  return h('span', { class: 'platforms' }, ...(platforms ?? []).map((p) => h('span', { class: 'chip' }, p)));
}

/** A confirmation dialog; resolves true when the user confirms. */
function confirmDialog(title: string, text: string, action: string): Promise<boolean> {
  return new Promise((resolve) => {
    const dialog = h(
      'dialog',
      { class: 'confirm', id: 'confirm' },
      h('h2', null, title),
      h('p', null, text),
      h(
        'form',
        { method: 'dialog', class: 'buttons' },
        h('button', { value: 'cancel', type: 'submit' }, 'Cancel'),
        h('button', { value: 'confirm', type: 'submit', class: 'danger' }, action),
      ),
    );
    dialog.addEventListener('close', () => {
      resolve(dialog.returnValue === 'confirm');
      dialog.remove();
    });
    document.body.append(dialog);
    dialog.showModal();
  });
}

async function deleteTag(name: string, tag: string): Promise<void> {
  const ok = await confirmDialog('Delete tag', `Delete the tag ${name}:${tag}? Other tags of the same image stay.`, 'Delete tag');
  if (!ok) return;
  try {
    await request(`/v2/${namePath(name)}/manifests/${encodeURIComponent(tag)}`, { method: 'DELETE' });
    notify(`Deleted ${name}:${tag}`);
  } catch (e) {
    notify(failure(e), true);
  }
  if (location.hash === `#/r/${name}`) void renderRepository(name);
  else location.hash = `#/r/${name}`;
}

async function deleteRepository(name: string): Promise<void> {
  const ok = await confirmDialog('Delete repository', `Delete the repository ${name} and every tag in it?`, 'Delete repository');
  if (!ok) return;
  try {
    await request(`/v2/_registry/repositories/${namePath(name)}`, { method: 'DELETE' });
    notify(`Deleted ${name}`);
    location.hash = '#/';
  } catch (e) {
    notify(failure(e), true);
  }
}

function notify(text: string, error = false): void {
  const note = h('div', { class: error ? 'toast error' : 'toast', role: 'status' }, text);
  document.body.append(note);
  window.setTimeout(() => note.remove(), 4000);
}

function failure(e: unknown): string {
  if (e instanceof ApiError) {
    if (e.status === 403) return 'You may not see or change this.';
    if (e.status === 404) return 'Not found (deleted meanwhile?).';
    return e.message;
  }
  return e instanceof Error ? e.message : String(e);
}

// ---- a tag or manifest ------------------------------------------------------------------------

interface Descriptor {
  mediaType?: string;
  digest: string;
  size: number;
  platform?: { os?: string; architecture?: string; variant?: string };
  artifactType?: string;
  annotations?: Record<string, string>;
}

interface Manifest {
  mediaType?: string;
  artifactType?: string;
  manifests?: Descriptor[];
  config?: Descriptor;
  layers?: Descriptor[];
  subject?: Descriptor;
  annotations?: Record<string, string>;
}

interface ImageConfig {
  created?: string;
  architecture?: string;
  os?: string;
  config?: {
    Entrypoint?: string[] | null;
    Cmd?: string[] | null;
    Env?: string[] | null;
    Labels?: Record<string, string> | null;
    WorkingDir?: string;
    User?: string;
    ExposedPorts?: Record<string, unknown>;
  };
  history?: Array<{ created?: string; created_by?: string; empty_layer?: boolean; comment?: string }>;
}

async function renderTag(name: string, reference: string): Promise<void> {
  const mine = generation;
  const crumbs = h('p', { class: 'crumbs' }, h('a', { href: '#/' }, 'Repositories'), ' / ', h('a', { href: `#/r/${name}` }, name), ' / ', reference.includes(':') ? shortDigest(reference) : reference);
  show(main, crumbs, h('p', { class: 'muted' }, 'Loading…'));
  let manifest: Manifest;
  let text: string;
  let digest: string;
  let canDelete = false;
  try {
    const [response, allowed] = await Promise.all([
      request(`/v2/${namePath(name)}/manifests/${encodeURIComponent(reference)}`, { headers: { Accept: MANIFEST_TYPES.join(', ') } }),
      reference.includes(':') ? Promise.resolve(false) : mayDelete(name).catch(() => false),
    ]);
    canDelete = allowed;
    text = await response.text();
    digest = response.headers.get('Docker-Content-Digest') ?? '';
    manifest = JSON.parse(text) as Manifest;
  } catch (e) {
    if (mine === generation) show(main, crumbs, h('p', { class: 'error' }, failure(e)));
    return;
  }
  if (mine !== generation) return;
  const sections: HTMLElement[] = [];
  const isIndex = Array.isArray(manifest.manifests);
  sections.push(
    h(
      'div',
      { class: 'bar' },
      h('h1', null, `${name}${reference.includes(':') ? '@' + shortDigest(reference) : ':' + reference}`),
      canDelete ? h('button', { type: 'button', class: 'danger', id: 'delete-tag', onclick: () => void deleteTag(name, reference) }, 'Delete tag') : null,
    ),
    h(
      'dl',
      { class: 'facts' },
      h('dt', null, 'Digest'),
      h('dd', null, h('code', { id: 'digest' }, digest)),
      h('dt', null, 'Media type'),
      h('dd', null, manifest.mediaType ?? '—'),
      manifest.artifactType ? [h('dt', null, 'Artifact type'), h('dd', null, manifest.artifactType)] : null,
      h('dt', null, 'Pull'),
      h('dd', null, pullBox(name, reference), ' ', digest && !reference.includes(':') ? pullBox(name, digest) : null),
    ),
  );
  if (isIndex) {
    sections.push(
      h('h2', null, 'Platforms'),
      listTable(
        { id: 'platforms' },
        ['Platform', 'Digest', 'Media type', { num: 'Manifest size' }],
        manifest.manifests!.map((m) =>
          h(
            'tr',
            null,
            h('td', null, h('a', { href: `#/r/${name}/t/${m.digest}` }, platformName(m))),
            h('td', null, h('code', { title: m.digest }, shortDigest(m.digest))),
            h('td', null, m.mediaType ?? ''),
            h('td', { class: 'num' }, formatSize(m.size)),
          ),
        ),
      ),
    );
  }
  if (manifest.layers) {
    sections.push(
      h('h2', null, 'Layers'),
      listTable(
        { id: 'layers' },
        ['#', 'Digest', 'Media type', { num: 'Size' }],
        manifest.layers.map((layer, i) =>
          h('tr', null, h('td', null, i + 1), h('td', null, h('code', { title: layer.digest }, shortDigest(layer.digest))), h('td', null, layer.mediaType ?? ''), h('td', { class: 'num' }, formatSize(layer.size))),
        ),
        h('tr', { class: 'total' }, h('td', null, ''), h('td', null, 'Total'), h('td', null, ''), h('td', { class: 'num' }, formatSize(manifest.layers.reduce((s, l) => s + (l.size ?? 0), 0)))),
      ),
    );
  }
  const configBox = h('div', { id: 'config' });
  if (manifest.config && /image\.config|container\.image/.test(manifest.config.mediaType ?? '')) sections.push(h('h2', null, 'Image configuration'), configBox);
  const referrersBox = h('div', { id: 'referrers' }, h('p', { class: 'muted' }, 'Loading…'));
  sections.push(h('h2', null, 'Referrers (signatures, SBOMs, attestations)'), referrersBox);
  sections.push(h('h2', null, 'Manifest'), h('pre', { class: 'json', id: 'manifest' }, pretty(text)));
  show(main, crumbs, ...sections);

  if (manifest.config && configBox.isConnected) void loadConfig(name, manifest.config, configBox, mine);
  if (digest) void loadReferrers(name, digest, referrersBox, mine);
  else show(referrersBox, h('p', { class: 'muted' }, '—'));
}

function platformName(descriptor: Descriptor): string {
  const p = descriptor.platform;
  if (!p?.os) return descriptor.artifactType ?? 'unknown';
  return [p.os, p.architecture, p.variant].filter(Boolean).join('/');
}

function pretty(text: string): string {
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}

async function loadConfig(name: string, descriptor: Descriptor, box: HTMLElement, mine: number): Promise<void> {
  let config: ImageConfig;
  try {
    config = (await getJson<ImageConfig>(`/v2/${namePath(name)}/blobs/${descriptor.digest}`)).body;
  } catch (e) {
    if (mine === generation) show(box, h('p', { class: 'error' }, failure(e)));
    return;
  }
  if (mine !== generation) return;
  const c = config.config ?? {};
  const list = (values: string[] | null | undefined) => (values && values.length > 0 ? h('code', null, JSON.stringify(values)) : '—');
  show(
    box,
    h(
      'dl',
      { class: 'facts' },
      h('dt', null, 'Created'),
      h('dd', null, createdText(config.created)),
      h('dt', null, 'Platform'),
      h('dd', null, [config.os, config.architecture].filter(Boolean).join('/') || '—'),
      h('dt', null, 'Entrypoint'),
      h('dd', null, list(c.Entrypoint)),
      h('dt', null, 'Cmd'),
      h('dd', null, list(c.Cmd)),
      h('dt', null, 'Working dir'),
      h('dd', null, c.WorkingDir || '—'),
      h('dt', null, 'User'),
      h('dd', null, c.User || '—'),
      h('dt', null, 'Exposed ports'),
      h('dd', null, c.ExposedPorts ? Object.keys(c.ExposedPorts).join(', ') : '—'),
      h('dt', null, 'Environment'),
      h('dd', null, c.Env?.length ? h('ul', { class: 'plain' }, c.Env.map((e) => h('li', null, h('code', null, e)))) : '—'),
      h('dt', null, 'Labels'),
      h('dd', null, c.Labels && Object.keys(c.Labels).length ? h('ul', { class: 'plain' }, Object.entries(c.Labels).map(([k, v]) => h('li', null, h('code', null, `${k}=${v}`)))) : '—'),
    ),
    config.history?.length
      ? listTable(
          { id: 'history' },
          ['Created', 'Created by', ''],
          config.history.map((step) =>
            h('tr', null, h('td', { title: formatDate(step.created) }, formatAge(step.created)), h('td', null, h('code', null, step.created_by ?? step.comment ?? '')), h('td', { class: 'muted' }, step.empty_layer ? 'no layer' : '')),
          ),
        )
      : null,
  );
}

async function loadReferrers(name: string, digest: string, box: HTMLElement, mine: number): Promise<void> {
  let index: Manifest;
  try {
    index = (await getJson<Manifest>(`/v2/${namePath(name)}/referrers/${digest}`)).body;
  } catch (e) {
    if (mine === generation) show(box, h('p', { class: 'error' }, failure(e)));
    return;
  }
  if (mine !== generation) return;
  const referrers = index.manifests ?? [];
  if (referrers.length === 0) return show(box, h('p', { class: 'muted' }, 'None.'));
  show(
    box,
    listTable(
      {},
      ['Artifact type', 'Digest', { num: 'Size' }, 'Annotations'],
      referrers.map((r) =>
        h(
          'tr',
          null,
          h('td', null, r.artifactType ?? r.mediaType ?? ''),
          h('td', null, h('a', { href: `#/r/${name}/t/${r.digest}` }, h('code', null, shortDigest(r.digest)))),
          h('td', { class: 'num' }, formatSize(r.size)),
          h('td', null, Object.entries(r.annotations ?? {}).map(([k, v]) => h('div', null, h('code', null, `${k}=${v}`)))),
        ),
      ),
    ),
  );
}

window.addEventListener('hashchange', route);
route();

/** `2026-12-02 01:55 UTC (3 days ago)`; the date alone when it has no age (the epoch, the future). */
function createdText(iso: string | undefined): string {
  const date = formatDate(iso);
  if (!date) return '—';
  const age = formatAge(iso);
  return age === '—' || age === date ? date : `${date} (${age})`;
}

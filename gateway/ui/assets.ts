// The UI's built files (scripts/build-ui.mjs writes them to dist/gateway/ui/web/), read once at
// start: a handful of small files. Each is served under its content hash (`?v=`), which the page
// names, so browsers keep them for a year and a new build is fetched at once.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { extname, join } from 'node:path';

export interface Asset {
  body: Buffer;
  type: string;
  /** The first 16 hex digits of the content's sha256. */
  version: string;
}

export interface Assets {
  get(name: string): Asset | undefined;
  /** index.html with the asset versions and the start data filled in. */
  page(boot: unknown): string;
}

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

const BOOT_MARK = '<!--BOOT-->';

export function loadAssets(dir: string): Assets {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (error) {
    throw new Error(`web UI files not found in ${dir}: run \`npm run build\` (or set ui.enabled: false)`, { cause: error });
  }
  const files = new Map<string, Asset>();
  for (const name of names) {
    const type = TYPES[extname(name)];
    if (type === undefined) continue;
    const body = readFileSync(join(dir, name));
    files.set(name, { body, type, version: createHash('sha256').update(body).digest('hex').slice(0, 16) });
  }
  let template = readFileSync(join(dir, 'index.html'), 'utf8');
  // `/ui/assets/app.js` -> `/ui/assets/app.js?v=<hash>`
  template = template.replace(/\/ui\/assets\/([\w.-]+)/g, (whole, name: string) => {
    const asset = files.get(name);
    return asset ? `${whole}?v=${asset.version}` : whole;
  });
  const [before, after] = template.includes(BOOT_MARK) ? template.split(BOOT_MARK) : [template, ''];
  return {
    get: (name) => files.get(name),
    page(boot) {
      // `<` escaped: nothing in the data can close the script element.
      const json = JSON.stringify(boot).replace(/</g, '\\u003c');
      return `${before}<script id="boot" type="application/json">${json}</script>${after}`;
    },
  };
}

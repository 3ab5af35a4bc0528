// Builds the web UI (gateway/ui/web/) into dist/gateway/ui/web/: type-checks it (tsc, DOM
// types), bundles main.ts into one minified app.js (esbuild), and copies index.html, app.css
// and the icon. The gateway serves these files (gateway/ui/assets.ts). Part of `npm run build`.
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const source = join(root, 'gateway', 'ui', 'web');
const out = join(root, 'dist', 'gateway', 'ui', 'web');

execFileSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(source, 'tsconfig.json')], { stdio: 'inherit' });
mkdirSync(out, { recursive: true });
await build({
  entryPoints: [join(source, 'main.ts')],
  outfile: join(out, 'app.js'),
  bundle: true,
  minify: true,
  format: 'esm',
  target: ['es2022'],
  legalComments: 'none',
  logLevel: 'warning',
});
for (const file of ['index.html', 'app.css', 'favicon.svg']) copyFileSync(join(source, file), join(out, file));

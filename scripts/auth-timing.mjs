// Does timing tell an unknown user name from a real one? Times a wrong password for real users of
// bcrypt cost 5 (`htpasswd -B`) and 10 (`registry user add`) and for 20 unknown names.
// Run after `npm run build`: node scripts/auth-timing.mjs
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
const root = join(import.meta.dirname, '..');
const { createHtpasswdAuthenticator } = await import(join(root, 'dist/gateway/auth/htpasswd-authenticator.js'));
const { hashPassword } = await import(join(root, 'dist/gateway/auth/password-hash.js'));
const dir = mkdtempSync(join(tmpdir(), 'timing-'));
const lines = [];
for (const u of ['a5', 'b5', 'c5']) lines.push(execFileSync('htpasswd', ['-nbB', u, 'pw']).toString().trim());
for (const u of ['d10', 'e10', 'f10', 'g10']) lines.push(`${u}:${await hashPassword('pw', 'bcrypt', 10)}`);
writeFileSync(join(dir, 'htpasswd'), lines.join('\n') + '\n');
const auth = await createHtpasswdAuthenticator({ path: join(dir, 'htpasswd'), logger: pino({ level: 'silent' }), throttle: { maxFailuresPerAddress: 1e6, maxFailuresPerUser: 1e6 } });
let n = 0;
const median = async (user) => {
  const times = [];
  for (let i = 0; i < 7; i++) { const t0 = performance.now(); await auth.authenticate(user, 'wrong', `10.9.${(++n >> 8) & 255}.${n & 255}`); times.push(performance.now() - t0); }
  times.sort((a, b) => a - b); return times[3];
};
const fmt = (x) => x.toFixed(1);
const k5 = await median('a5'), k10 = await median('d10');
console.log(`known cost 5: ${fmt(k5)} ms   known cost 10: ${fmt(k10)} ms`);
const unknown = [];
for (let i = 0; i < 20; i++) unknown.push(await median(`nobody${i}`));
const cut = Math.sqrt(k5 * k10);
const fast = unknown.filter((x) => x < cut);
console.log(`unknown names (20, median of 7 each): ${fast.length} near cost 5 (median ${fmt(fast.sort((a,b)=>a-b)[Math.floor(fast.length/2)] ?? NaN)} ms), ${20 - fast.length} near cost 10 (median ${fmt(unknown.filter((x) => x >= cut).sort((a,b)=>a-b)[Math.floor((20-fast.length)/2)] ?? NaN)} ms); real users: 3 of 7 at cost 5`);
console.log('per name:', unknown.map(fmt).join(' '));
await auth.close();
rmSync(dir, { recursive: true, force: true });

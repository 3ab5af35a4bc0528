// storage.s3 as registry:2 reads it, from config.yml and REGISTRY_STORAGE_S3_*; REGISTRY_STORAGE=s3
// selects the driver even when filesystem settings are set too (they are ignored, named in a warning).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { ConfigError, loadConfig } from '../../common/config/load.js';
import { effectiveSettings } from '../../common/config/describe.js';

function load(env: Record<string, string>, yaml?: string) {
  const dir = mkdtempSync(join(tmpdir(), 'config-s3-'));
  try {
    let configPath: string | undefined;
    if (yaml !== undefined) writeFileSync((configPath = join(dir, 'config.yml')), yaml);
    return loadConfig({ env, cwd: dir, ...(configPath ? { configPath } : {}) });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('storage.s3 from config.yml, with registry:2 key names and defaults', (t) => {
  const { config } = load({}, [
    'version: 0.1',
    'storage:',
    '  s3:',
    '    region: eu-west-1',
    '    regionendpoint: http://127.0.0.1:7480',
    '    bucket: images',
    '    accesskey: AKIA',
    '    secretkey: SECRET',
    '    rootdirectory: /reg',
    '    forcepathstyle: true',
    '    chunksize: 16777216',
    '    encrypt: true',
    '    secure: false',
    '    v4auth: true',
    '  redirect:',
    '    disable: false',
    '',
  ].join('\n'));
  t.is(config.storage.driver, 's3');
  t.like(config.storage.s3, { region: 'eu-west-1', bucket: 'images', rootdirectory: '/reg', forcepathstyle: true, chunksize: 16 * 1024 * 1024, encrypt: true, secure: false, accesskey: 'AKIA' });
  t.true(config.storage.redirect);
  const shown = JSON.stringify(effectiveSettings(config));
  t.false(shown.includes('SECRET'), 'the secret key is masked');
});

test('REGISTRY_STORAGE=s3 selects s3 over filesystem settings, naming what it ignores', (t) => {
  const { config, warnings } = load({
    REGISTRY_STORAGE: 's3',
    REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY: '/var/lib/registry',
    REGISTRY_STORAGE_S3_BUCKET: 'b',
    REGISTRY_STORAGE_S3_REGION: 'us-east-1',
    REGISTRY_STORAGE_DELETE_ENABLED: 'true',
  });
  t.is(config.storage.driver, 's3');
  t.is(config.storage.s3?.bucket, 'b');
  t.true(config.storage.delete.enabled, 'other storage settings stay');
  t.false(config.storage.redirect, 'downloads stream through storage unless redirect.disable is false');
  t.true(warnings.some((w) => w.includes('REGISTRY_STORAGE=s3') && w.includes('storage.filesystem.rootdirectory')), warnings.join('\n'));
});

test('REGISTRY_STORAGE=s3 also overrides a filesystem section in config.yml', (t) => {
  const { config, warnings } = load({ REGISTRY_STORAGE: 's3', REGISTRY_STORAGE_S3_BUCKET: 'b', REGISTRY_STORAGE_S3_REGIONENDPOINT: 'rgw:7480' },
    'version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: /data\n  delete:\n    enabled: true\n');
  t.is(config.storage.driver, 's3');
  t.is(config.storage.s3?.region, 'us-east-1', 'a region is not needed with an endpoint');
  t.true(warnings.some((w) => w.includes('storage.filesystem.rootdirectory')));
});

test('mistakes are reported: no bucket, a tiny chunksize, half the credentials, two drivers', (t) => {
  const err = t.throws(() => load({ REGISTRY_STORAGE_S3_CHUNKSIZE: '1024', REGISTRY_STORAGE_S3_ACCESSKEY: 'x' }), { instanceOf: ConfigError }) as ConfigError;
  const text = err.problems.join('\n');
  t.regex(text, /storage\.s3\.bucket/);
  t.regex(text, /storage\.s3\.region/);
  t.regex(text, /chunksize.*5 MiB/);
  t.regex(text, /secretkey/);
  const both = t.throws(() => load({}, 'version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: /d\n  s3:\n    bucket: b\n    region: r\n'), { instanceOf: ConfigError }) as ConfigError;
  t.regex(both.problems.join('\n'), /REGISTRY_STORAGE=s3/);
});

test('the filesystem stays the default', (t) => {
  const { config } = load({});
  t.is(config.storage.driver, 'filesystem');
  t.is(config.storage.s3, undefined);
});

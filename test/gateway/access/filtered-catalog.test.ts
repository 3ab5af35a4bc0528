// Paging the catalog after the filter, against a fake storage catalog: several storage batches
// for a sparse caller, a Link only when another allowed name exists, `last` honoured.
import test from 'ava';
import { filteredCatalogPage, FIRST_BATCH, type CatalogReader } from '../../../gateway/access/filtered-catalog.js';

const ALL = Array.from({ length: 5000 }, (_, i) => `repo${String(i).padStart(5, '0')}`);

function storage(): { read: CatalogReader; calls: Array<{ last?: string; n?: number }> } {
  const calls: Array<{ last?: string; n?: number }> = [];
  const read: CatalogReader = async (last, n) => {
    calls.push({ last, n });
    const after = last === undefined ? ALL : ALL.filter((name) => name > last);
    const names = n === undefined ? after : after.slice(0, n);
    return { names, more: n !== undefined && after.length > n };
  };
  return { read, calls };
}

const sparse = (name: string) => name.endsWith('999') || name === 'repo00001';

test('a sparse caller: storage is read in growing batches until n + 1 allowed names are found', async (t) => {
  const { read, calls } = storage();
  const page = await filteredCatalogPage(read, sparse, { n: 2 });
  t.deepEqual(page, { names: ['repo00001', 'repo00999'], nextLast: 'repo00999' });
  t.deepEqual(calls, [
    { last: undefined, n: FIRST_BATCH },
    { last: 'repo00999', n: FIRST_BATCH * 2 },
  ]);
  const next = await filteredCatalogPage(read, sparse, { n: 2, last: page.nextLast });
  t.deepEqual(next, { names: ['repo01999', 'repo02999'], nextLast: 'repo02999' });
  const end = await filteredCatalogPage(read, sparse, { n: 2, last: next.nextLast });
  t.deepEqual(end, { names: ['repo03999', 'repo04999'] }, 'no Link: nothing allowed follows');
});

test('without n, one read of everything after last; n=0 reads nothing', async (t) => {
  const { read, calls } = storage();
  t.deepEqual((await filteredCatalogPage(read, sparse, { last: 'repo02000' })).names, ['repo02999', 'repo03999', 'repo04999']);
  t.deepEqual(calls, [{ last: 'repo02000', n: undefined }]);
  t.deepEqual(await filteredCatalogPage(read, sparse, { n: 0 }), { names: [] });
  t.is(calls.length, 1);
});

test('a large n asks storage for at least n + 1 names at once', async (t) => {
  const { read, calls } = storage();
  const page = await filteredCatalogPage(read, () => true, { n: 3000 });
  t.is(page.names.length, 3000);
  t.is(page.nextLast, 'repo02999');
  t.deepEqual(calls, [{ last: undefined, n: 3001 }]);
});

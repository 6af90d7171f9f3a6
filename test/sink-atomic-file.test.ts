import assert from 'node:assert/strict';
import * as fsPromises from 'node:fs/promises';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { AtomicWriteError, writeFileAtomic, type AtomicFileOps } from '../src/io/atomic-file.js';
import { tempDir } from './sink-rows.js';

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => ({ dir, cleanup } = await tempDir()));
afterEach(() => cleanup());

/** Real filesystem calls, except that writing the temp file stores half the content and then fails ENOSPC. */
function diskFullAfterHalf(): AtomicFileOps {
  return {
    ...fsPromises,
    open: (async (path: string, flags: string) => {
      const handle = await fsPromises.open(path, flags);
      handle.writeFile = async (data) => {
        const bytes = typeof data === 'string' ? Buffer.from(data) : Buffer.from(data as Uint8Array);
        await handle.write(bytes.subarray(0, bytes.length >> 1));
        throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
      };
      return handle;
    }) as AtomicFileOps['open'],
  };
}

describe('writeFileAtomic', () => {
  it('writes strings as UTF-8 and bytes as they are, replacing an existing file', async () => {
    const path = join(dir, 'out.json');
    await writeFileAtomic(path, '{"a": "ü"}');
    assert.equal(await readFile(path, 'utf8'), '{"a": "ü"}');
    await writeFileAtomic(path, new Uint8Array([1, 2, 3]));
    assert.deepEqual([...(await readFile(path))], [1, 2, 3]);
    assert.deepEqual(await readdir(dir), ['out.json']);
  });

  it('on ENOSPC mid-write keeps the old file intact, removes the temp file and names the path', async () => {
    const path = join(dir, 'dataset.parquet');
    await writeFile(path, 'old complete content');
    await assert.rejects(
      writeFileAtomic(path, 'x'.repeat(10_000), { ops: diskFullAfterHalf() }),
      (e) => e instanceof AtomicWriteError && e.code === 'ENOSPC' && e.path === path && e.message.includes(path),
    );
    assert.equal(await readFile(path, 'utf8'), 'old complete content');
    assert.deepEqual(await readdir(dir), ['dataset.parquet']);
  });

  it('on a failing rename leaves no file under the final name and no temp file', async () => {
    const path = join(dir, 'new.json');
    const ops: AtomicFileOps = {
      ...fsPromises,
      rename: async () => {
        throw Object.assign(new Error('EIO: i/o error, rename'), { code: 'EIO' });
      },
    };
    await assert.rejects(writeFileAtomic(path, 'content', { ops }), (e) => e instanceof AtomicWriteError && e.code === 'EIO');
    assert.deepEqual(await readdir(dir), []);
  });

  it('fails naming the path when the directory does not exist', async () => {
    const path = join(dir, 'missing', 'file.json');
    await assert.rejects(writeFileAtomic(path, 'x'), (e) => e instanceof AtomicWriteError && e.code === 'ENOENT' && e.message.includes(path));
    assert.deepEqual(await readdir(dir), []);
  });

  it('with overwrite: false refuses an existing file and keeps it', async () => {
    const path = join(dir, 'taken.json');
    await writeFile(path, 'first run');
    await assert.rejects(writeFileAtomic(path, 'second run', { overwrite: false }), (e) => e instanceof AtomicWriteError && e.code === 'EEXIST');
    assert.equal(await readFile(path, 'utf8'), 'first run');
    assert.deepEqual(await readdir(dir), ['taken.json']);
    await writeFileAtomic(join(dir, 'free.json'), 'new', { overwrite: false });
    assert.equal(await readFile(join(dir, 'free.json'), 'utf8'), 'new');
    assert.deepEqual((await readdir(dir)).sort(), ['free.json', 'taken.json']);
  });
});

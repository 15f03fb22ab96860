import { createHash } from 'node:crypto';
import { expectedDos } from './arbitraries.js';
import type { TestFile } from './helpers.js';

/**
 * Checks archives with Python's zipfile: testzip() unless the third element is {testzip: false} (z.read() of an
 * entry with a sha256 still checks its CRC), names, sizes, STORE, UTF-8 flag, contents, DOS time, mode, offset.
 */
export const PY_CHECK_ZIP = `
import sys, json, zipfile, hashlib
for path, manifest, *opts in json.load(open(sys.argv[1])):
    with zipfile.ZipFile(path) as z:
        if not opts or opts[0].get('testzip', True):
            bad = z.testzip()
            assert bad is None, (path, bad)
        infos = z.infolist()
        assert [i.filename for i in infos] == [m['name'] for m in manifest], path
        for i, m in zip(infos, manifest):
            assert i.file_size == m['size'] and i.compress_size == m['size'] and i.compress_type == 0, (path, i)
            assert i.flag_bits & 0x800 or all(ord(c) < 128 for c in i.filename), (path, i)
            if 'sha256' in m:
                assert hashlib.sha256(z.read(i)).hexdigest() == m['sha256'], (path, i.filename)
            if 'dos' in m:
                assert list(i.date_time) == m['dos'], (path, i.date_time, m['dos'])
            if 'offset' in m:
                assert i.header_offset == m['offset'], (path, i.header_offset)
            if 'mode' in m:
                assert (i.external_attr >> 16) == m['mode'], (path, i.external_attr)
print('ok', flush=True)
`;

export const manifestOf = (files: readonly TestFile[]) =>
  files.map((f) => ({
    name: f.name,
    size: f.data.length,
    sha256: createHash('sha256').update(f.data).digest('hex'),
    dos: expectedDos(f.mtime ?? 1_700_000_000),
    mode: f.mode ?? 0o100644,
  }));

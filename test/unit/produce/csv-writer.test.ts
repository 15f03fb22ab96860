import { expect } from 'chai';
import { parse } from 'csv-parse/sync';
import { CsvWriter, csvCellEncoder, resolveCsvOptions } from '../../../server/domain/produce/index.js';
import { MemoryWritable, makeObject, produceCsv } from './helpers.js';

const SPECIAL = [
  'plain',
  'comma, inside',
  'semi; colon',
  'double "quotes" here',
  "single 'quotes'",
  'line\nfeed',
  'carriage\rreturn',
  'crlf\r\nend',
  'tab\there',
  '  leading and trailing  ',
  'back\\slash \\" tricky',
  'emoji 😀👍🏽 family 👨‍👩‍👧',
  'Ünïcödé – 中文 – العربية',
  '',
];

const SYSTEM = ['_id', '_objecttype', '_version', '_created_at', '_changed_at'];

function objectsWithValues(values: readonly string[]) {
  return values.map((v, i) => makeObject(i + 1, { value: v, other: `#${i}` }));
}

describe('produce/csv-writer', () => {
  it('R-OUT-3 CSV round-trips quotes, delimiters, newlines and non-ASCII', async () => {
    const { text } = await produceCsv(objectsWithValues(SPECIAL));
    expect(text.endsWith('\r\n')).to.equal(true);
    const rows = parse(text, { relax_column_count: false }) as string[][];
    expect(rows[0]).to.deep.equal([...SYSTEM, 'other', 'value']);
    expect(rows.slice(1).map((r) => r[6])).to.deep.equal(SPECIAL);
    expect(rows.slice(1).map((r) => r[0])).to.deep.equal(SPECIAL.map((_, i) => String(i + 1)));
  });

  for (const csv of [
    { delimiter: ';', quote: "'" },
    { delimiter: '\t', quote: '"', escape: '\\' },
    { delimiter: '|', quote: "'", escape: '\\', use_bom: true },
  ]) {
    it(`R-OUT-3 CSV honours delimiter/quote/escape/BOM ${JSON.stringify(csv)}`, async () => {
      const { text } = await produceCsv(objectsWithValues(SPECIAL), { csv });
      expect(text.startsWith('\uFEFF')).to.equal(csv.use_bom === true);
      const rows = parse(text, {
        delimiter: csv.delimiter,
        quote: csv.quote,
        escape: csv.escape ?? csv.quote,
        bom: true,
      });
      expect(rows[0]).to.deep.equal([...SYSTEM, 'other', 'value']);
      expect(rows.slice(1).map((r: string[]) => r[6])).to.deep.equal(SPECIAL);
    });
  }

  it('R-OUT-3 CSV quotes cells with leading/trailing spaces and leaves simple cells bare', () => {
    const encode = csvCellEncoder(resolveCsvOptions(true));
    expect(encode('abc')).to.equal('abc');
    expect(encode(' abc')).to.equal('" abc"');
    expect(encode('a"b')).to.equal('"a""b"');
    expect(encode('')).to.equal('');
    const backslash = csvCellEncoder(resolveCsvOptions({ escape: '\\' }));
    expect(backslash('a"b\\c')).to.equal('"a\\"b\\\\c"');
  });

  it('csv.escape_formulas prefixes cells starting with = + - @ TAB CR with a quote (OWASP); off by default', async () => {
    const hostile = ['=HYPERLINK("http://x","y")', '+SUM(A1)', '-2+3', '@cmd', '\t=1', '\r=1', 'a=b', '-5', '+1.5e3', '', "'quoted"];
    const off = parse((await produceCsv(objectsWithValues(hostile))).text) as string[][];
    expect(off.slice(1).map((r) => r[6])).to.deep.equal(hostile);
    const on = parse((await produceCsv(objectsWithValues(hostile), { csv: { escape_formulas: true } })).text) as string[][];
    expect(on.slice(1).map((r) => r[6])).to.deep.equal([
      '\'=HYPERLINK("http://x","y")',
      "'+SUM(A1)",
      "'-2+3",
      "'@cmd",
      "'\t=1",
      "'\r=1",
      'a=b',
      '-5',
      '+1.5e3',
      '',
      "'quoted",
    ]);
    // A column named like a formula is defused in the header too; with `'` as the quote character it is escaped.
    const encode = csvCellEncoder(resolveCsvOptions({ quote: "'", escape_formulas: true }));
    expect(encode('=1+1')).to.equal("'''=1+1'");
    expect(encode('@x')).to.equal("'''@x'");
  });

  it('R-OUT-3 empty export gives a header-only CSV', async () => {
    const { text } = await produceCsv([]);
    expect(text).to.equal(`${SYSTEM.join(',')}\r\n`);
    const bom = await produceCsv([], { csv: { use_bom: true, empty_columns: false } });
    expect(bom.text).to.equal('\uFEFF_id,_objecttype\r\n');
  });

  it('R-OUT-3 empty_columns false drops columns empty in every row, true keeps them', async () => {
    const objects = [
      makeObject(1, { title: 'a', blank: '', none: null, list: [], nested: { x: null } }),
      makeObject(2, { title: 'b', blank: '', sometimes: 'x' }),
    ];
    const kept = await produceCsv(objects);
    expect(kept.header).to.deep.equal([...SYSTEM, 'blank', 'list', 'nested.x', 'none', 'sometimes', 'title']);
    const dropped = await produceCsv(objects, { csv: { empty_columns: false } });
    expect(dropped.header).to.deep.equal([...SYSTEM, 'sometimes', 'title']);
    const rows = parse(dropped.text) as string[][];
    expect(rows.slice(1).map((r) => r.slice(5))).to.deep.equal([
      ['', 'a'],
      ['x', 'b'],
    ]);
  });

  it('R-OUT-3 nested values become dotted columns and arrays newline-joined cells', async () => {
    const objects = [
      makeObject(1, {
        meta: { width: 640, height: 480, ok: true },
        tags: ['red', 'green'],
        people: [{ name: 'Ann', age: 30 }, { name: 'Bob' }],
      }),
    ];
    const { text, header } = await produceCsv(objects);
    expect(header.slice(5)).to.deep.equal([
      'meta.height',
      'meta.ok',
      'meta.width',
      'people.age',
      'people.name',
      'tags',
    ]);
    const [, row] = parse(text) as string[][];
    expect(row.slice(5)).to.deep.equal(['480', 'true', '640', '30\n', 'Ann\nBob', 'red\ngreen']);
  });

  it('R-OUT-2 CSV has a _path column per asset field with the copied paths, newline-joined', async () => {
    const objects = [makeObject(1, { image: [{ _id: 7 }, { _id: 8 }, { _id: 9 }] }), makeObject(2, { image: [] })];
    const paths = new Map([
      [7, 'files/photo/image/7-a.jpg'],
      [9, 'files/photo/image/9-c.jpg'],
    ]);
    const { text, header } = await produceCsv(objects, {
      eas_fields: { 'photo.image': { files: true } },
      assetPaths: (_objectId, field, assetId) => (field === 'image' ? paths.get(assetId) : undefined),
      csv: { empty_columns: false },
    });
    expect(header.slice(5)).to.deep.equal(['image._id', 'image._path']);
    const rows = parse(text) as string[][];
    expect(rows[1].slice(5)).to.deep.equal(['7\n8\n9', 'files/photo/image/7-a.jpg\n\nfiles/photo/image/9-c.jpg']);
    expect(rows[2].slice(5)).to.deep.equal(['', '']);
  });

  it('R-DATA-4 CSV with fields: only selected columns, in fields order, renamed by display_name', async () => {
    const objects = [makeObject(1, { title: 'T', meta: { width: 3, height: 4 }, secret: 'no' })];
    const { text } = await produceCsv(objects, {
      fields: {
        _id: { display_name: 'ID' },
        'photo.title': { display_name: 'Title, main' },
        'photo.meta.width': {},
        _changed_at: {},
      },
    });
    const rows = parse(text) as string[][];
    expect(rows).to.deep.equal([
      ['ID', '_objecttype', '_changed_at', 'Title, main', 'meta.width'],
      ['1', 'photo', '2026-01-02T00:00:00Z', 'T', '3'],
    ]);
  });

  it('R-ENG-6 CSV writer waits for drain on a slow stream and writes in large chunks', async () => {
    const objects = Array.from({ length: 3000 }, (_, i) => makeObject(i + 1, { text: `row ${i} ${'x'.repeat(50)}` }));
    const { text, out } = await produceCsv(objects, { slow: true, batchSize: 500 });
    expect(out.drains).to.be.greaterThan(0);
    expect(out.writes).to.be.lessThan(20);
    const rows = parse(text) as string[][];
    expect(rows).to.have.length(3001);
    expect(rows[3000][5]).to.equal(`row 2999 ${'x'.repeat(50)}`);
  });

  it('R-ENG-6 CSV writer rejects instead of hanging when the stream is destroyed', async () => {
    const out = new MemoryWritable(true);
    const writer = new CsvWriter(out, { columns: [{ name: '_id', source: 'id', empty: false }] });
    out.destroy(new Error('stopped'));
    const shaped = { _id: 1, _objecttype: 'p', names: { id: '_id', objecttype: '_objecttype' }, fields: {} };
    let error: unknown = null;
    try {
      await writer.write(Array.from({ length: 20000 }, () => shaped));
      await writer.end();
    } catch (e) {
      error = e;
    }
    expect(error).to.be.instanceOf(Error);
  });

  it('R-EXP-9 invalid CSV options are rejected with error.api.invalid_value', () => {
    expect(() => resolveCsvOptions({ delimiter: ';;' }))
      .to.throw()
      .with.property('code', 'error.api.invalid_value');
    expect(() => resolveCsvOptions({ delimiter: '"' }))
      .to.throw()
      .with.property('code', 'error.api.invalid_value');
    expect(() => resolveCsvOptions({ quote: '\n' }))
      .to.throw()
      .with.property('code', 'error.api.invalid_value');
  });
});

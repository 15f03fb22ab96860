import type { Writable } from 'node:stream';
import { invalidValue } from '../errors.js';
import { mapInSlices } from './big-strings.js';
import { type CsvColumn, flattenValue } from './flatten.js';
import { ChunkedSink } from './sink.js';
import type { CsvOptions, ObjectWriter, ShapedObject } from './types.js';

export interface ResolvedCsvOptions {
  readonly delimiter: string;
  readonly quote: string;
  readonly escape: string;
  readonly useBom: boolean;
  readonly emptyColumns: boolean;
  readonly escapeFormulas: boolean;
}

const FORBIDDEN = new Set(['\r', '\n']);

/** Defaults plus validation (1 character each, distinct delimiter/quote, no line breaks): `export.csv.*` errors. */
export function resolveCsvOptions(options: CsvOptions | boolean | null | undefined): ResolvedCsvOptions {
  const o = typeof options === 'object' && options !== null ? options : {};
  const delimiter = o.delimiter ?? ',';
  const quote = o.quote ?? '"';
  const escapeChar = o.escape ?? quote;
  for (const [name, value] of [
    ['delimiter', delimiter],
    ['quote', quote],
    ['escape', escapeChar],
  ] as const) {
    if (typeof value !== 'string' || [...value].length !== 1 || FORBIDDEN.has(value)) {
      throw invalidValue(`export.csv.${name}`, `csv ${name} must be exactly one character other than CR or LF`);
    }
  }
  if (delimiter === quote || delimiter === escapeChar) {
    throw invalidValue('export.csv.delimiter', 'csv delimiter must differ from quote and escape');
  }
  return {
    delimiter,
    quote,
    escape: escapeChar,
    useBom: o.use_bom === true,
    emptyColumns: o.empty_columns !== false,
    escapeFormulas: o.escape_formulas === true,
  };
}

/** OWASP "CSV injection": a cell starting with one of these is run as a formula by spreadsheet programs. */
const FORMULA_START = /^[=+\-@\t\r]/;
// A plain number is never a formula ("-5", "+1.5e3"); leaving numbers alone keeps negative values numeric.
const PLAIN_NUMBER = /^[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$/;

/** `escape_formulas`: such a cell gets a leading `'`, which spreadsheets show as text and do not evaluate. */
const defuseFormula = (text: string): string => (FORMULA_START.test(text) && !PLAIN_NUMBER.test(text) ? `'${text}` : text);

const regexChar = (c: string) => c.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&');

/**
 * Returns the RFC 4180 cell encoder for the options. A cell is quoted when it contains the delimiter, the quote or
 * escape character, CR or LF, or starts/ends with whitespace (spreadsheets and many parsers trim unquoted cells).
 * Inside quotes the quote character is preceded by the escape character (doubled by default); with a distinct
 * escape character the escape character itself is escaped too, as csv-parse and Python's csv expect.
 * With `escape_formulas` (off by default, it changes the data) cells are defused first (see defuseFormula).
 */
export function csvCellEncoder(options: ResolvedCsvOptions): (text: string) => string {
  const { delimiter, quote, escape: escapeChar } = options;
  const special = [...new Set([delimiter, quote, escapeChar])].map(regexChar).join('');
  // `u` only for a quote, escape or delimiter outside the BMP (one character, two UTF-16 units: without `u` a class
  // would match either half); the common case keeps the plain, faster regexes of the hot path.
  const u = [delimiter, quote, escapeChar].some((c) => c.length > 1) ? 'u' : '';
  const needsQuotes = new RegExp(`[${special}\\r\\n]|^\\s|\\s$`, u);
  const toEscape = new RegExp(`[${[...new Set([quote, escapeChar])].map(regexChar).join('')}]`, `g${u}`);
  const defuse = options.escapeFormulas;
  const escapeQuotes = (part: string) => part.replace(toEscape, (c) => escapeChar + c);
  return (raw) => {
    const text = defuse ? defuseFormula(raw) : raw;
    if (text === '' || !needsQuotes.test(text)) return text;
    return quote + mapInSlices(text, escapeQuotes) + quote;
  };
}

export interface CsvWriterOptions {
  /** From ColumnCollector.columns() of the first pass. */
  readonly columns: readonly CsvColumn[];
  readonly csv?: CsvOptions | boolean | null;
  /**
   * For a header guessed before all rows were seen (csv-spool.ts): a cell for a column the header lacks, and that
   * the full column pass would have kept, marks the output `strayed` (unusable) instead of being dropped silently.
   */
  readonly detectStrays?: boolean;
}

/**
 * Writes `objects.csv`: optional UTF-8 BOM, a header row, one row per object, CRLF after every row (RFC 4180).
 * With `empty_columns: false`, columns empty in every row (per the first pass) are left out; `_id` and
 * `_objecttype` always stay, so even an empty export has a header. Rows are built as strings and written in
 * ~64 KiB chunks; `write` resolves once the stream accepted them (backpressure).
 */
export class CsvWriter implements ObjectWriter {
  private readonly sink: ChunkedSink;
  private readonly encode: (text: string) => string;
  private readonly columns: readonly CsvColumn[];
  private readonly delimiter: string;
  private readonly index = new Map<string, number>();
  private readonly cells: (string | undefined)[];
  private readonly detectStrays: boolean;
  private readonly emptyColumns: boolean;
  private started = false;
  /** See CsvWriterOptions.detectStrays. */
  strayed = false;

  constructor(out: Writable, options: CsvWriterOptions) {
    const resolved = resolveCsvOptions(options.csv);
    this.sink = new ChunkedSink(out);
    this.encode = csvCellEncoder(resolved);
    this.delimiter = resolved.delimiter;
    this.columns = resolved.emptyColumns ? options.columns : options.columns.filter((c) => !c.empty);
    this.columns.forEach((c, i) => {
      if (c.source === 'field') this.index.set(c.name, i);
    });
    this.cells = new Array(this.columns.length);
    this.detectStrays = options.detectStrays === true;
    this.emptyColumns = resolved.emptyColumns;
    if (resolved.useBom) this.sink.add('\uFEFF');
  }

  /** The columns actually written, in order (after `empty_columns`). */
  get header(): string[] {
    return this.columns.map((c) => c.name);
  }

  async write(batch: readonly ShapedObject[]): Promise<void> {
    this.start();
    for (const object of batch) {
      if (this.sink.add(this.row(object))) await this.sink.flush();
    }
  }

  async end(): Promise<void> {
    this.start();
    await this.sink.end();
  }

  private start(): void {
    if (this.started) return;
    this.started = true;
    this.sink.add(`${this.columns.map((c) => this.encode(c.name)).join(this.delimiter)}\r\n`);
  }

  // Cells are filled straight into a reused array by column index: no per-row Map, unknown columns are skipped.
  private row(object: ShapedObject): string {
    const cells = this.cells;
    cells.fill(undefined);
    const { fields } = object;
    for (const key of Object.keys(fields)) flattenValue(fields[key], key, this.emit);
    let line = '';
    for (let i = 0; i < this.columns.length; i++) {
      const column = this.columns[i];
      const text =
        column.source === 'id'
          ? String(object._id)
          : column.source === 'objecttype'
            ? object._objecttype
            : (cells[i] ?? '');
      line += i === 0 ? this.encode(text) : this.delimiter + this.encode(text);
    }
    return `${line}\r\n`;
  }

  private readonly emit = (column: string, text: string): void => {
    const i = this.index.get(column);
    if (i === undefined) {
      // With empty_columns: false an empty cell of an unknown column is harmless: the column pass marks a column
      // filled only for non-empty text, so it is either dropped anyway or filled (and caught) in another row.
      if (this.detectStrays && (this.emptyColumns || text !== '')) this.strayed = true;
      return;
    }
    const previous = this.cells[i];
    this.cells[i] = previous === undefined ? text : `${previous}\n${text}`;
  };
}

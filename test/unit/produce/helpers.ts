import { Writable } from 'node:stream';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import {
  type AssetPathLookup,
  ColumnCollector,
  type CsvOptions,
  CsvWriter,
  type ExportedObject,
  JsonArrayWriter,
  ObjectShaper,
  type ShaperOptions,
  XmlFileWriter,
} from '../../../server/domain/produce/index.js';

/**
 * An in-memory Writable. `slow` makes every write complete on a later tick with a tiny highWaterMark, so writers
 * really hit backpressure and must wait for 'drain'.
 */
export class MemoryWritable extends Writable {
  readonly chunks: Buffer[] = [];
  drains = 0;
  writes = 0;

  constructor(slow = false) {
    super({ highWaterMark: slow ? 16 : 16 * 1024 });
    this.on('drain', () => this.drains++);
    this.slow = slow;
  }

  private readonly slow: boolean;

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.writes++;
    this.chunks.push(chunk);
    if (this.slow) setImmediate(callback);
    else callback();
  }

  get text(): string {
    return Buffer.concat(this.chunks).toString('utf8');
  }
}

export function makeObject(id: number, data: Record<string, unknown>, objecttype = 'photo'): ExportedObject {
  return {
    _id: id,
    _objecttype: objecttype,
    _version: 1,
    _created_at: '2026-01-01T00:00:00Z',
    _changed_at: '2026-01-02T00:00:00Z',
    data,
  };
}

function* batches<T>(items: readonly T[], size: number): Generator<T[]> {
  for (let i = 0; i < items.length; i += size) yield items.slice(i, i + size);
}

export interface ProduceOptions extends ShaperOptions {
  csv?: CsvOptions | boolean;
  assetPaths?: AssetPathLookup;
  slow?: boolean;
  batchSize?: number;
}

/** Drives the writers like the engine: a column pass for CSV, then batches of shaped objects. */
export async function produceCsv(objects: readonly ExportedObject[], options: ProduceOptions = {}) {
  const shaper = new ObjectShaper(options);
  const collector = new ColumnCollector(shaper);
  for (const batch of batches(objects, options.batchSize ?? 3)) collector.add(batch);
  const out = new MemoryWritable(options.slow);
  const writer = new CsvWriter(out, { columns: collector.columns(), csv: options.csv ?? true });
  for (const batch of batches(objects, options.batchSize ?? 3)) {
    await writer.write(batch.map((o) => shaper.shape(o, options.assetPaths)));
  }
  await writer.end();
  return { text: out.text, header: writer.header, out };
}

export async function produceJson(objects: readonly ExportedObject[], options: ProduceOptions = {}) {
  const shaper = new ObjectShaper(options);
  const out = new MemoryWritable(options.slow);
  const writer = new JsonArrayWriter(out);
  for (const batch of batches(objects, options.batchSize ?? 3)) {
    await writer.write(batch.map((o) => shaper.shape(o, options.assetPaths)));
  }
  await writer.end();
  return { text: out.text, out };
}

export async function produceXml(objects: readonly ExportedObject[], options: ProduceOptions = {}) {
  const shaper = new ObjectShaper(options);
  const out = new MemoryWritable(options.slow);
  const writer = new XmlFileWriter(out);
  for (const batch of batches(objects, options.batchSize ?? 3)) {
    await writer.write(batch.map((o) => shaper.shape(o, options.assetPaths)));
  }
  await writer.end();
  return { text: out.text, out };
}

type OrderedNode = Record<string, unknown> & { ':@'?: Record<string, string> };

const parser = new XMLParser({
  preserveOrder: true,
  ignoreAttributes: false,
  attributeNamePrefix: '',
  trimValues: false,
  parseTagValue: false,
  parseAttributeValue: false,
  processEntities: true,
  htmlEntities: true,
});

const tagOf = (node: OrderedNode) => Object.keys(node).find((k) => k !== ':@')!;
const elementsOf = (children: OrderedNode[]) => children.filter((c) => tagOf(c) !== '#text');

/** Rebuilds `[key, value]` from one element written by the XML writer (inverse of its documented rules). */
function decodeElement(node: OrderedNode): [string, unknown] {
  const tag = tagOf(node);
  const attributes = node[':@'] ?? {};
  const key = tag === 'field' ? attributes.name : tag;
  const children = node[tag] as OrderedNode[];
  const text = children
    .filter((c) => tagOf(c) === '#text')
    .map((c) => String(c['#text']))
    .join('');
  switch (attributes.type) {
    case undefined:
      return [key, text];
    case 'number':
      return [key, Number(text)];
    case 'boolean':
      return [key, text === 'true'];
    case 'null':
      return [key, null];
    case 'array':
      return [key, elementsOf(children).map((c) => decodeElement(c)[1])];
    default:
      return [key, fromEntries(elementsOf(children).map(decodeElement))];
  }
}

function fromEntries(entries: [string, unknown][]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of entries)
    Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
  return out;
}

export interface DecodedXmlObject {
  id: string;
  objecttype: string;
  fields: Record<string, unknown>;
}

/** Validates the document and returns its objects; the root must be `root`. */
export function parseXml(text: string, root: 'objects' | 'object' = 'objects'): DecodedXmlObject[] {
  const valid = XMLValidator.validate(text);
  if (valid !== true) throw new Error(`invalid XML: ${JSON.stringify(valid)}`);
  const doc = parser.parse(text) as OrderedNode[];
  const top = elementsOf(doc).filter((n) => tagOf(n) !== '?xml');
  if (top.length !== 1 || tagOf(top[0]) !== root) throw new Error(`expected one root <${root}>`);
  const objects = root === 'objects' ? elementsOf(top[0].objects as OrderedNode[]) : top;
  return objects.map((node) => ({
    id: node[':@']!.id,
    objecttype: node[':@']!.objecttype,
    fields: fromEntries(elementsOf(node.object as OrderedNode[]).map(decodeElement)),
  }));
}

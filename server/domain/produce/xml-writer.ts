import type { Writable } from 'node:stream';
import { mapInSlices } from './big-strings.js';
import { PerObjectWriter, type PerObjectOptions } from './per-object-writer.js';
import { ChunkedSink } from './sink.js';
import type { ObjectWriter, OpenFile, ShapedObject } from './types.js';

/**
 * XML 1.0 output (R-OUT-3), UTF-8:
 * ```xml
 * <?xml version="1.0" encoding="UTF-8"?>
 * <objects>
 * <object id="1" objecttype="photo"><_version type="number">2</_version>…<title>Sunset</title>
 *   <meta type="object"><width type="number">3</width></meta>
 *   <tags type="array"><item>a</item><item>b</item></tags>
 *   <image type="array"><item type="object"><_id type="number">7</_id><_path>files/…</_path></item></image>
 *   <field name="Photo title">…</field></object>
 * </objects>
 * ```
 * - A key that is a valid XML name (XML 1.0, without `:`, BMP only, not starting with `xml`, not `field`) is the
 *   element name; any other key is written as `<field name="…">`, the key in the attribute.
 * - Strings have no `type`; numbers, booleans, null, objects and arrays carry `type="number|boolean|null|object|array"`,
 *   so a reader can rebuild the JSON value exactly (an empty string, `{}` and `[]` would look alike otherwise).
 * - Array elements are repeated `<item>` children of the field's element (keeps empty and one-element arrays).
 * - Characters XML 1.0 forbids (C0 controls except TAB/LF/CR, lone surrogates, U+FFFE, U+FFFF) are removed; CR is
 *   written as `&#13;` (and TAB/LF in attributes as references) because parsers would otherwise normalize them.
 * - One file: root `<objects>`. One file per object (`xml/<objecttype>/<_id>.xml`): root `<object>`.
 */

// With the u flag a class of surrogates matches only lone ones; valid pairs are consumed as one code point.
const INVALID_XML = /[\x00-\x08\x0B\x0C\x0E-\x1F\uFFFE\uFFFF]|[\uD800-\uDFFF]/gu;
const TEXT_SPECIAL = /[&<>\r]/g;
const ATTRIBUTE_SPECIAL = /[&<>"\t\n\r]/g;
const ENTITY: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  '\t': '&#9;',
  '\n': '&#10;',
  '\r': '&#13;',
};

export const removeInvalidXmlChars = (s: string): string => s.replace(INVALID_XML, '');

// Per character, so a huge value can be escaped in slices (see big-strings.ts).
const escapeText = (part: string) => removeInvalidXmlChars(part).replace(TEXT_SPECIAL, (c) => ENTITY[c]);
const escapeAttribute = (part: string) => removeInvalidXmlChars(part).replace(ATTRIBUTE_SPECIAL, (c) => ENTITY[c]);

export const xmlText = (s: string): string => mapInSlices(s, escapeText);

const xmlAttribute = (s: string): string => mapInSlices(s, escapeAttribute);

// XML 1.0 5th edition name characters without ':' and without the astral planes, which many parsers still reject.
const NAME_START =
  'A-Z_a-z\\xC0-\\xD6\\xD8-\\xF6\\xF8-\\u02FF\\u0370-\\u037D\\u037F-\\u1FFF\\u200C\\u200D\\u2070-\\u218F' +
  '\\u2C00-\\u2FEF\\u3001-\\uD7FF\\uF900-\\uFDCF\\uFDF0-\\uFFFD';
const NAME_CHAR = `${NAME_START}\\-.0-9\\xB7\\u0300-\\u036F\\u203F-\\u2040`;
const XML_NAME = new RegExp(`^[${NAME_START}][${NAME_CHAR}]*$`, 'u');

/**
 * True when `key` can be used as an element name as is (see the rules above). Unicode spaces that XML 1.0 5th edition
 * allows in names (U+1680, U+2000–U+200A …) are refused too: common parsers treat them as whitespace.
 */
export const isPlainElementName = (key: string): boolean =>
  XML_NAME.test(key) && !/^xml/i.test(key) && key !== 'field' && !/\s/u.test(key);

interface Tag {
  readonly open: string;
  readonly close: string;
}

/** Caches tags of the (usually few) distinct keys; bounded so hostile data with unique keys can't grow it. */
const TAG_CACHE_LIMIT = 10_000;

class XmlObjectEncoder {
  private readonly tags = new Map<string, Tag>();

  /** `<object id=".." objecttype="..">…</object>` without a trailing newline. */
  encode(object: ShapedObject): string {
    let out = `<object id="${object._id}" objecttype="${xmlAttribute(object._objecttype)}">`;
    for (const key of Object.keys(object.fields)) out += this.element(this.tag(key), object.fields[key]);
    return `${out}</object>`;
  }

  private element(tag: Tag, value: unknown): string {
    switch (typeof value) {
      case 'string':
        return value === '' ? `${tag.open}/>` : `${tag.open}>${xmlText(value)}${tag.close}`;
      case 'number':
      case 'bigint':
        return `${tag.open} type="number">${String(value)}${tag.close}`;
      case 'boolean':
        return `${tag.open} type="boolean">${value}${tag.close}`;
    }
    if (value === null || typeof value !== 'object') return `${tag.open} type="null"/>`;
    if (Array.isArray(value)) {
      let out = `${tag.open} type="array">`;
      for (const item of value) out += this.element(ITEM, item);
      return out + tag.close;
    }
    const object = value as Record<string, unknown>;
    let out = `${tag.open} type="object">`;
    for (const key of Object.keys(object)) out += this.element(this.tag(key), object[key]);
    return out + tag.close;
  }

  private tag(key: string): Tag {
    const cached = this.tags.get(key);
    if (cached !== undefined) return cached;
    const tag: Tag = isPlainElementName(key)
      ? { open: `<${key}`, close: `</${key}>` }
      : { open: `<field name="${xmlAttribute(key)}"`, close: '</field>' };
    if (this.tags.size < TAG_CACHE_LIMIT) this.tags.set(key, tag);
    return tag;
  }
}

const ITEM: Tag = { open: '<item', close: '</item>' };
const DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n';

/** `objects.xml`: declaration, `<objects>`, one `<object>` per line, `</objects>`; valid when empty too. */
export class XmlFileWriter implements ObjectWriter {
  private readonly sink: ChunkedSink;
  private readonly encoder = new XmlObjectEncoder();

  constructor(out: Writable) {
    this.sink = new ChunkedSink(out);
    this.sink.add(`${DECLARATION}<objects>\n`);
  }

  async write(batch: readonly ShapedObject[]): Promise<void> {
    for (const object of batch) {
      if (this.sink.add(`${this.encoder.encode(object)}\n`)) await this.sink.flush();
    }
  }

  async end(): Promise<void> {
    this.sink.add('</objects>\n');
    await this.sink.end();
  }
}

/** `xml/<objecttype>/<_id>.xml`, each a document whose root is the `<object>` element. */
export class XmlPerObjectWriter extends PerObjectWriter {
  constructor(open: OpenFile, options: PerObjectOptions = {}) {
    const encoder = new XmlObjectEncoder();
    super(open, 'xml', (object) => `${DECLARATION}${encoder.encode(object)}\n`, options);
  }
}

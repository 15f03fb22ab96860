import { type AssetRef, attachAssetPaths, lookupFor, refsIn } from './asset-refs.js';
import type {
  AssetPathLookup,
  EasFieldSelection,
  ExportedObject,
  FieldSelection,
  IdentityNames,
  ShapedObject,
} from './types.js';
import { getPath, hasOwn, mergeProjections, projectPath, setOwn } from './values.js';

const SYSTEM_ATTRIBUTES = ['_id', '_objecttype', '_version', '_created_at', '_changed_at'] as const;
type SystemAttribute = (typeof SYSTEM_ATTRIBUTES)[number];
type OptionalAttribute = Exclude<SystemAttribute, '_id' | '_objecttype'>;
const OPTIONAL_ATTRIBUTES: readonly OptionalAttribute[] = ['_version', '_created_at', '_changed_at'];

export type FieldPath =
  | { readonly kind: 'system'; readonly attribute: SystemAttribute }
  | { readonly kind: 'field'; readonly objecttype: string; readonly segments: readonly string[] };

const OBJECTTYPE = /^[a-z][a-z0-9_]{0,62}$/;

/**
 * Field path grammar (R-DATA-3/4): `<objecttype>.<field>[.<sub>…]`, or a system attribute on its own
 * (`_id`; `_objecttype`, `_version`, `_created_at`, `_changed_at` are accepted too). Returns null when malformed.
 * A field whose own name contains a dot cannot be addressed: dots always separate segments.
 */
export function parseFieldPath(path: string): FieldPath | null {
  if ((SYSTEM_ATTRIBUTES as readonly string[]).includes(path)) {
    return { kind: 'system', attribute: path as SystemAttribute };
  }
  const [objecttype, ...segments] = path.split('.');
  if (!OBJECTTYPE.test(objecttype) || segments.length === 0 || segments.some((s) => s === '')) return null;
  return { kind: 'field', objecttype, segments };
}

interface Selection {
  readonly segments: readonly string[];
  readonly displayName: string | null;
}

interface EasField {
  readonly segments: readonly string[];
  readonly field: string;
}

export interface ShaperOptions {
  fields?: FieldSelection | null;
  eas_fields?: EasFieldSelection | null;
}

/**
 * Applies `fields` (selection + display_name) and `eas_fields` (`_path` next to copied asset references) to an
 * object, once, for every format. Rules:
 * - `_id` and `_objecttype` are always exported: they identify a row, an XML element and a per-object file.
 * - `_version`, `_created_at`, `_changed_at` are exported when `fields` is null or lists them.
 * - A selected field without display_name keeps its shape (`photo.meta.width` → `{meta: {width}}`); with one, the
 *   value is put under that name at the top (`photo.meta.width` as "Width" → `{Width: 3}`).
 * - Data fields whose output name equals a system attribute's output name are dropped (the system one wins).
 */
export class ObjectShaper {
  readonly names: IdentityNames;
  readonly selective: boolean;
  private readonly system: ReadonlyArray<readonly [OptionalAttribute, string]>;
  private readonly reserved: ReadonlySet<string>;
  private readonly selections = new Map<string, Selection[]>();
  private readonly easFields = new Map<string, EasField[]>();
  private readonly ranks = new Map<string, number>();

  constructor(options: ShaperOptions = {}) {
    const fields = options.fields ?? null;
    this.selective = fields !== null;
    const rename = new Map<SystemAttribute, string>();
    const listed = new Set<SystemAttribute>();
    for (const [path, spec] of Object.entries(fields ?? {})) {
      const parsed = parseFieldPath(path);
      if (parsed === null) throw new RangeError(`invalid field path in export.fields: ${JSON.stringify(path)}`);
      const displayName = spec?.display_name ? spec.display_name : null;
      if (parsed.kind === 'system') {
        listed.add(parsed.attribute);
        if (displayName !== null) rename.set(parsed.attribute, displayName);
        continue;
      }
      const list = this.selections.get(parsed.objecttype) ?? [];
      list.push({ segments: parsed.segments, displayName });
      this.selections.set(parsed.objecttype, list);
      const group = displayName ?? parsed.segments[0];
      if (!this.ranks.has(group)) this.ranks.set(group, this.ranks.size);
    }
    this.names = Object.freeze({
      id: rename.get('_id') ?? '_id',
      objecttype: rename.get('_objecttype') ?? '_objecttype',
    });
    this.system = OPTIONAL_ATTRIBUTES.filter((a) => !this.selective || listed.has(a)).map(
      (a) => [a, rename.get(a) ?? a] as const,
    );
    this.reserved = new Set([this.names.id, this.names.objecttype, ...this.system.map(([, name]) => name)]);
    for (const [path, spec] of Object.entries(options.eas_fields ?? {})) {
      if (!spec?.files) continue;
      const parsed = parseFieldPath(path);
      if (parsed === null || parsed.kind === 'system') {
        throw new RangeError(`invalid field path in export.eas_fields: ${JSON.stringify(path)}`);
      }
      const list = this.easFields.get(parsed.objecttype) ?? [];
      list.push({ segments: parsed.segments, field: parsed.segments.join('.') });
      this.easFields.set(parsed.objecttype, list);
    }
  }

  /** Output names of the non-identity system attributes, in output order (CSV puts them after the identity). */
  get systemNames(): string[] {
    return this.system.map(([, name]) => name);
  }

  /** True when `shape` with a lookup can add `_path` to asset references (eas_fields with files). */
  get attachesAssetPaths(): boolean {
    return this.easFields.size > 0;
  }

  /** Sort rank of a top-level output key: its position in `fields`, or 0 for everything when nothing is selected. */
  groupRank(topKey: string): number {
    return this.selective ? (this.ranks.get(topKey) ?? this.ranks.size) : 0;
  }

  /** Asset references whose files should be copied, in eas_fields order then data order (deterministic naming). */
  assetRefs(object: ExportedObject): AssetRef[] {
    const refs: AssetRef[] = [];
    for (const eas of this.easFields.get(object._objecttype) ?? []) {
      refs.push(...refsIn(object.data, eas.segments, eas.field));
    }
    return refs;
  }

  shape(object: ExportedObject, assetPaths?: AssetPathLookup): ShapedObject {
    let data = object.data;
    if (assetPaths) {
      for (const eas of this.easFields.get(object._objecttype) ?? []) {
        data = attachAssetPaths(data, eas.segments, lookupFor(assetPaths, object._id, eas.field)) as typeof data;
      }
    }
    const fields: Record<string, unknown> = {};
    for (const [attribute, name] of this.system) setOwn(fields, name, object[attribute]);
    if (!this.selective) {
      for (const key of Object.keys(data)) {
        if (!this.reserved.has(key)) setOwn(fields, key, data[key]);
      }
    } else {
      for (const selection of this.selections.get(object._objecttype) ?? []) this.apply(selection, data, fields);
    }
    return { _id: object._id, _objecttype: object._objecttype, names: this.names, fields };
  }

  private apply(selection: Selection, data: Record<string, unknown>, fields: Record<string, unknown>): void {
    const { segments, displayName } = selection;
    const key = displayName ?? segments[0];
    if (this.reserved.has(key) || !hasOwn(data, segments[0])) return;
    const value =
      displayName === null ? projectPath(data[segments[0]], segments, 1) : getPath(data[segments[0]], segments, 1);
    if (value === undefined) return;
    setOwn(fields, key, hasOwn(fields, key) ? mergeProjections(fields[key], value) : value);
  }
}

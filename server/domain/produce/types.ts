import type { Writable } from 'node:stream';

/** One object as the run engine reads it from PostgreSQL. `data` holds the free JSON fields. */
export interface ExportedObject {
  readonly _id: number;
  readonly _objecttype: string;
  readonly _version: number;
  readonly _created_at: string;
  readonly _changed_at: string;
  readonly data: Record<string, unknown>;
}

export interface CsvOptions {
  /** One character, default `,`. */
  delimiter?: string;
  /** One character, default `"`. */
  quote?: string;
  /** One character, default = quote (RFC 4180 doubling). */
  escape?: string;
  use_bom?: boolean;
  /** Keep columns that are empty in every row. Default true. */
  empty_columns?: boolean;
  /** OWASP CSV injection: prefix cells starting with = + - @ TAB CR (numbers excepted) with `'`. Default false. */
  escape_formulas?: boolean;
}

export type FieldSelection = Record<string, { display_name?: string | null } | null | undefined>;
export type EasFieldSelection = Record<string, { files?: boolean } | null | undefined>;

/**
 * Relative path of a copied asset file for one reference, or undefined when the file was not copied.
 * `field` is the asset field's path inside the object (`image`, `meta.scan`), without the object type.
 */
export type AssetPathLookup = (objectId: number, field: string, assetId: number) => string | undefined;

/** Output names of the two identity attributes (display_name may rename them). */
export interface IdentityNames {
  readonly id: string;
  readonly objecttype: string;
}

/** An object after field selection, renaming and `_path` augmentation: what every writer consumes. */
export interface ShapedObject {
  readonly _id: number;
  readonly _objecttype: string;
  readonly names: IdentityNames;
  /** Everything but the identity, in output order: other system attributes first, then data fields. */
  readonly fields: Record<string, unknown>;
}

/** Opens one output file (path relative to the export root, `/`-separated) for writing. */
export type OpenFile = (relativePath: string) => Writable | Promise<Writable>;

/** What the engine drives: batches in, then end() once. Writers never buffer more than about one chunk. */
export interface ObjectWriter {
  write(batch: readonly ShapedObject[]): Promise<void>;
  end(): Promise<void>;
}

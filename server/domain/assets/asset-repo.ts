import type { Knex } from 'knex';

export interface AssetRow {
  id: number;
  owner_id: number;
  original_filename: string;
  size: number;
  sha256: string;
  mime_type: string;
  class: string;
  storage_key: string;
  created_at: Date;
}

const normalize = (row: AssetRow): AssetRow => ({
  ...row,
  id: Number(row.id),
  owner_id: Number(row.owner_id),
  size: Number(row.size),
});

export async function insertAsset(db: Knex, row: Omit<AssetRow, 'id' | 'created_at'>): Promise<AssetRow> {
  const [inserted] = (await db('assets').insert(row).returning('*')) as AssetRow[];
  return normalize(inserted);
}

/** Owner-scoped: another user's asset is simply not there. */
export async function findAsset(db: Knex, ownerId: number, id: number): Promise<AssetRow | null> {
  const row = (await db('assets').where({ id, owner_id: ownerId }).first()) as AssetRow | undefined;
  return row ? normalize(row) : null;
}

/** The owner's assets among `ids` (others' and missing ids are left out), for copying into an export. */
export async function findAssets(db: Knex, ownerId: number, ids: readonly number[]): Promise<Map<number, AssetRow>> {
  if (ids.length === 0) return new Map();
  const rows = (await db('assets')
    .where({ owner_id: ownerId })
    .whereRaw('id = any(?::bigint[])', [ids as number[]])) as AssetRow[];
  return new Map(rows.map((r) => [Number(r.id), normalize(r)]));
}

/** The API shape of R-DATA-2. */
export const presentAsset = (row: AssetRow) => ({
  _id: row.id,
  original_filename: row.original_filename,
  size: row.size,
  sha256: row.sha256,
  mime_type: row.mime_type,
  class: row.class,
});

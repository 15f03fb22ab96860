/** A row as the API shows it: `{"_objecttype": t, t: {_id, _version, _created_at, _changed_at, …fields}}`. */
export interface ObjectLike {
  id: number | string;
  objecttype: string;
  version: number;
  created_at: Date;
  changed_at: Date;
  data: Record<string, unknown>;
}

export const presentObject = (row: ObjectLike) => ({
  _objecttype: row.objecttype,
  [row.objecttype]: {
    _id: Number(row.id),
    _version: row.version,
    _created_at: row.created_at.toISOString(),
    _changed_at: row.changed_at.toISOString(),
    ...row.data,
  },
});

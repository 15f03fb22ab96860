/** Seed objects for the search integration test (owners 1 and 2 are the first two users of a fresh database). */
type Seed = { key: string; owner: number; type: string; data: Record<string, unknown>; changed?: string };
const photo = (key: string, data: Record<string, unknown>, changed?: string): Seed => ({
  key,
  owner: 1,
  type: 'photo',
  data: { key, ...data },
  changed,
});

export const SEED_OBJECTS: Seed[] = [
  photo('p1', {
    title: 'Sunset over the sea',
    tags: ['beach', 'red'],
    meta: { width: 100, height: 50 },
    taken: '2024-01-15T10:00:00Z',
    rating: 5,
    image: [{ _id: 5 }],
  }),
  photo(
    'p2',
    {
      title: 'sunrise',
      tags: 'beach',
      meta: { width: 200 },
      taken: '2024-02-01',
      rating: '5',
      image: [{ _id: 6 }, { _id: 7 }],
    },
    '2024-06-01T12:00:00Z',
  ),
  photo('p3', { title: '100% pure_joy', tags: ['x'], meta: { width: 50.5 }, taken: '2024-02-01T23:59:59Z', rating: 3 }),
  photo('p4', { title: '100 percent pureXjoy', meta: { width: 9 }, rating: 4.0, taken: '2024-02-02' }),
  photo('p5', { title: 'Back\\slash', tags: [], meta: { width: 'wide' } }),
  photo('p6', { title: 'DROP TABLE', note: "'); drop table objects; --" }),
  photo('p7', { nested: { deep: { er: { value: 'Needle in a haystack' } } } }),
  photo('p8', { title: 'Sunset Boulevard', tags: ['RED'], flag: true }),
  photo('p9', { title: null }),
  photo('f10', { title: 'Ärger', meta: { width: 10 } }),
  ...Array.from({ length: 10 }, (_, i) => photo(`f${i + 11}`, { title: `filler ${i + 11}`, meta: { width: i + 11 } })),
  {
    key: 'v1',
    owner: 1,
    type: 'video',
    data: { key: 'v1', title: 'Sunset timelapse', length: 120, tags: ['beach'] },
    changed: '2025-01-01T00:00:00Z',
  },
  { key: 'v2', owner: 1, type: 'video', data: { key: 'v2', title: 'Cats', length: 30 } },
  { key: 'v3', owner: 1, type: 'video', data: { key: 'v3', title: 'sunset', length: 60 } },
  {
    key: 'o2a',
    owner: 2,
    type: 'photo',
    data: { key: 'o2a', title: 'Sunset over the sea', tags: ['beach'], meta: { width: 100 } },
    changed: '2025-01-01T00:00:00Z',
  },
  { key: 'o2b', owner: 2, type: 'photo', data: { key: 'o2b', title: 'sunrise' } },
];

import { Readable } from 'node:stream';
import type { Knex } from 'knex';
import { AssetService } from '../server/domain/assets/asset-service.js';
import type { ObjectInput } from '../server/domain/objects/object-input.js';
import { ObjectService } from '../server/domain/objects/object-service.js';
import type { Storage } from '../server/infra/storage/storage.js';
import { encodePng } from './png.js';

const ADJECTIVES = ['Quiet', 'Golden', 'Misty', 'Bright', 'Northern', 'Autumn', 'Urban', 'Silent', 'Wild', 'Blue'];
const SUBJECTS = ['harbour', 'forest', 'bridge', 'market', 'mountain', 'river', 'station', 'garden', 'coast', 'street'];
const TAGS = ['landscape', 'city', 'people', 'night', 'water', 'architecture', 'nature', 'winter', 'summer', 'travel'];
const CAMERAS = ['Nikon Z6', 'Canon R5', 'Fujifilm X-T4', 'Leica Q2', 'Sony A7 III'];
const AUTHORS: [string, string][] = [
  ['Ada Lovelace', 'GB'], ['Grace Hopper', 'US'], ['Margaret Hamilton', 'US'], ['Katherine Johnson', 'US'],
  ['Hedy Lamarr', 'AT'], ['Emmy Noether', 'DE'], ['Marie Curie', 'PL'], ['Rosalind Franklin', 'GB'],
  ['Lise Meitner', 'AT'], ['Sofia Kovalevskaya', 'RU'], ['Chien-Shiung Wu', 'CN'], ['Mary Somerville', 'GB'],
  ['Hypatia', 'EG'], ['Dorothy Hodgkin', 'GB'], ['Barbara McClintock', 'US'], ['Émilie du Châtelet', 'FR'],
  ['Maria Gaetana Agnesi', 'IT'], ['Sophie Germain', 'FR'], ['Ida Noddack', 'DE'], ['Tu Youyou', 'CN'],
];
export const DEMO_IMAGES = 24;
export const DEMO_PHOTOS = 300;

/** A small generated picture: a colour gradient with a diagonal band, different for every `n`. */
function demoImage(n: number): Buffer {
  const hue = (n * 47) % 256;
  return encodePng(96, 64, (x, y) => {
    const band = Math.abs(x - y - (n % 32)) < 6 ? 80 : 0;
    return [(hue + x * 2) & 255, (y * 4 + band) & 255, (255 - hue + band) & 255];
  });
}

const input = (data: Record<string, unknown>, index: number): ObjectInput => ({ index, id: null, version: null, data });

/**
 * R-RUN-3 demo content for `ownerId`: 24 generated PNG images (assets), 20 `author` objects and 300 `photo` objects
 * whose `image` field refers to an image. Deterministic, and fast (well under a second).
 */
export async function seedDemoObjects(db: Knex, storage: Storage, ownerId: number): Promise<void> {
  const assets = new AssetService(db, storage);
  const imageIds: number[] = [];
  for (let n = 1; n <= DEMO_IMAGES; n++) {
    const name = `${SUBJECTS[n % SUBJECTS.length]}-${String(n).padStart(2, '0')}.png`;
    const row = await assets.store(ownerId, name, Readable.from([demoImage(n)]), Number.MAX_SAFE_INTEGER);
    imageIds.push(row.id);
  }
  const objects = new ObjectService(db);
  await objects.save(
    ownerId,
    'author',
    AUTHORS.map(([name, country], i) => input({ name, country, active_since: 1990 + i }, i)),
  );
  const photos = Array.from({ length: DEMO_PHOTOS }, (_, i) => {
    const day = new Date(Date.UTC(2024, 0, 1) + i * 86_400_000 * 2.3);
    return input(
      {
        title: `${ADJECTIVES[i % ADJECTIVES.length]} ${SUBJECTS[(i * 7) % SUBJECTS.length]} #${i + 1}`,
        tags: [TAGS[i % TAGS.length], TAGS[(i * 3 + 1) % TAGS.length]].filter((t, k, a) => a.indexOf(t) === k),
        author: AUTHORS[i % AUTHORS.length][0],
        taken: day.toISOString().slice(0, 10),
        rating: (i % 5) + 1,
        meta: { width: 96, height: 64, camera: CAMERAS[i % CAMERAS.length] },
        image: [{ _id: imageIds[i % imageIds.length] }],
      },
      i,
    );
  });
  await objects.save(ownerId, 'photo', photos);
}

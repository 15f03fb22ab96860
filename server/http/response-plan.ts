/**
 * What to answer for a GET or HEAD of a file or archive, decided from the request's conditional and range headers
 * and the representation's validators alone (RFC 9110 §13 and §14). Pure: no I/O, no Koa, so every case of the RFC
 * is a unit test (test/http/response-plan.test.ts) and serve-representation.ts only carries the plan out.
 */

/** The request headers that shape the answer (absent or empty: not sent). */
export interface PlanRequest {
  method: string;
  ifMatch?: string;
  ifNoneMatch?: string;
  ifModifiedSince?: string;
  ifUnmodifiedSince?: string;
  range?: string;
  ifRange?: string;
}

/** The selected representation's metadata. */
export interface PlanRepresentation {
  /** Exact length; null when unknown in advance (a streamed tar.gz): no ranges then. */
  size: number | null;
  /** Strong entity tag, quoted (`"…"`); null: none. */
  etag: string | null;
  lastModified: Date;
}

export type ResponsePlan =
  /** A precondition of §13.2.2 steps 3–4 is false for GET/HEAD: validators only, no body. */
  | { status: 304 }
  /** If-Match or If-Unmodified-Since is false (or If-None-Match for another method): no body. */
  | { status: 412 }
  /** The Range is valid but none of its ranges overlaps the representation: `Content-Range: bytes *\/<size>`. */
  | { status: 416; contentRange: string }
  /** The whole representation; `end` is -1 for an unknown size (the whole stream), `length` null then. */
  | { status: 200; start: number; end: number; length: number | null }
  /** One byte range `start`–`end` (inclusive). */
  | { status: 206; start: number; end: number; length: number; contentRange: string };

/**
 * One entity tag of a list, or null when it is not one (then the list is invalid and compares false).
 * `W/"x"` is weak; the opaque part may not contain `"` (RFC 9110 §8.8.3).
 */
interface EntityTag {
  weak: boolean;
  opaque: string;
}

const ETAG = /^(W\/)?("[\x21\x23-\x7e\x80-\xff]*")$/;

const parseTag = (s: string): EntityTag | null => {
  const m = ETAG.exec(s.trim());
  return m ? { weak: m[1] !== undefined, opaque: m[2] } : null;
};

/** `*` or a comma-separated list of entity tags; null for a malformed field (compares as no match). */
const parseTagList = (field: string): '*' | EntityTag[] | null => {
  if (field.trim() === '*') return '*';
  const tags = field
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map(parseTag);
  return tags.some((t) => t === null) ? null : (tags as EntityTag[]);
};

/** §8.8.3.2: strong comparison — both strong and the same opaque tag. */
const strongMatch = (a: EntityTag, b: EntityTag) => !a.weak && !b.weak && a.opaque === b.opaque;
/** §8.8.3.2: weak comparison — the same opaque tag, weak or not. */
const weakMatch = (a: EntityTag, b: EntityTag) => a.opaque === b.opaque;

/** An HTTP-date (IMF-fixdate or the obsolete forms Date.parse reads) in whole seconds; null when not a date. */
const httpDate = (s: string): number | null => {
  // Date.parse accepts much that is no HTTP-date (`1`, `2026`); every HTTP-date form names a weekday and a time.
  if (!/^[A-Za-z]{3,9},?\s.*\d{1,2}:\d{2}:\d{2}/.test(s.trim())) return null;
  const t = Date.parse(s);
  return Number.isNaN(t) ? null : Math.floor(t / 1000) * 1000;
};

/** Last-Modified as sent: HTTP-dates have whole seconds, so comparisons use the same precision. */
const seconds = (d: Date) => Math.floor(d.getTime() / 1000) * 1000;

const present = (v: string | undefined): v is string => v !== undefined && v.trim() !== '';

/** §13.1.1 If-Match: `*` matches the (existing) representation; otherwise a strong match with one listed tag. */
const ifMatchHolds = (field: string, etag: EntityTag | null): boolean => {
  const list = parseTagList(field);
  if (list === '*') return true;
  return etag !== null && (list?.some((t) => strongMatch(t, etag)) ?? false);
};

/** §13.1.2 If-None-Match: false when `*` (the representation exists) or one listed tag matches weakly. */
const ifNoneMatchHolds = (field: string, etag: EntityTag | null): boolean => {
  const list = parseTagList(field);
  if (list === '*') return false;
  return !(etag !== null && (list?.some((t) => weakMatch(t, etag)) ?? false));
};

/**
 * §13.1.5 If-Range: an entity tag must match strongly (a weak one never does); a date must equal Last-Modified
 * exactly. Anything else (a malformed value) is false: the whole representation is sent, which is always safe.
 */
const ifRangeHolds = (field: string, rep: PlanRepresentation, etag: EntityTag | null): boolean => {
  const v = field.trim();
  if (v.startsWith('"') || v.startsWith('W/')) {
    const tag = parseTag(v);
    return tag !== null && etag !== null && strongMatch(tag, etag);
  }
  const date = httpDate(v);
  return date !== null && date === seconds(rep.lastModified);
};

type Ranges = { kind: 'ignore' } | { kind: 'unsatisfiable' } | { kind: 'ranges'; ranges: [number, number][] };

/**
 * §14.1.1/§14.1.2 `bytes=` range sets. Another unit or invalid syntax: ignored (the whole representation is sent).
 * Satisfiable ranges are clipped to the size (a suffix longer than the size is the whole representation); none
 * satisfiable: 416. The result is sorted and coalesced (overlapping or adjacent ranges become one, §14.2).
 */
const parseRanges = (field: string, size: number): Ranges => {
  const m = /^\s*bytes\s*=\s*(.*)$/i.exec(field);
  if (!m) return { kind: 'ignore' };
  const specs = m[1].split(',').map((s) => s.trim());
  if (specs.every((s) => s === '')) return { kind: 'ignore' };
  const ranges: [number, number][] = [];
  // A suffix-range on an empty representation is satisfiable (§14.1.1) yet selects no byte: the whole, empty body.
  let emptySuffix = false;
  for (const spec of specs) {
    if (spec === '') continue; // list syntax allows empty elements
    const r = /^(\d*)\s*-\s*(\d*)$/.exec(spec);
    if (!r || (r[1] === '' && r[2] === '')) return { kind: 'ignore' };
    if (r[1] === '') {
      const suffix = Number(r[2]);
      if (!Number.isSafeInteger(suffix)) return { kind: 'ignore' };
      // A zero suffix-length is not satisfiable (§14.1.1); a longer one than the size selects everything.
      if (suffix > 0 && size > 0) ranges.push([Math.max(0, size - suffix), size - 1]);
      else if (suffix > 0) emptySuffix = true;
      continue;
    }
    const first = Number(r[1]);
    const last = r[2] === '' ? Number.POSITIVE_INFINITY : Number(r[2]);
    if (!Number.isSafeInteger(first) || (r[2] !== '' && !Number.isSafeInteger(last))) return { kind: 'ignore' };
    if (last < first) return { kind: 'ignore' };
    if (first < size) ranges.push([first, Math.min(last, size - 1)]);
  }
  if (ranges.length === 0) return emptySuffix ? { kind: 'ignore' } : { kind: 'unsatisfiable' };
  ranges.sort((a, b) => a[0] - b[0]);
  const merged: [number, number][] = [ranges[0]];
  for (const [s, e] of ranges.slice(1)) {
    const top = merged[merged.length - 1];
    if (s <= top[1] + 1) top[1] = Math.max(top[1], e);
    else merged.push([s, e]);
  }
  return { kind: 'ranges', ranges: merged };
};

const whole = (size: number | null): ResponsePlan => ({
  status: 200,
  start: 0,
  end: size === null ? -1 : size - 1,
  length: size,
});

/**
 * The answer to a request, evaluating the preconditions in the order of RFC 9110 §13.2.2:
 * 1. If-Match (strong) false → 412; 2. else If-Unmodified-Since false → 412; 3. If-None-Match (weak) false →
 * 304 for GET/HEAD (412 otherwise); 4. else, for GET/HEAD, If-Modified-Since false → 304; 5. for GET a Range
 * (kept only when If-Range holds) → 206, 416, or the whole representation.
 * Several ranges that do not coalesce into one are answered with the whole representation (§14.2 allows ignoring
 * Range; this service sends no multipart/byteranges). HEAD ignores Range (§14.2: range handling is defined for GET).
 */
export function planResponse(req: PlanRequest, rep: PlanRepresentation): ResponsePlan {
  const method = req.method.toUpperCase();
  const safe = method === 'GET' || method === 'HEAD';
  const etag = rep.etag === null ? null : parseTag(rep.etag);
  const modified = seconds(rep.lastModified);

  if (present(req.ifMatch)) {
    if (!ifMatchHolds(req.ifMatch, etag)) return { status: 412 };
  } else if (present(req.ifUnmodifiedSince)) {
    const date = httpDate(req.ifUnmodifiedSince);
    // An invalid date is ignored (§13.1.4).
    if (date !== null && modified > date) return { status: 412 };
  }
  if (present(req.ifNoneMatch)) {
    if (!ifNoneMatchHolds(req.ifNoneMatch, etag)) return safe ? { status: 304 } : { status: 412 };
  } else if (safe && present(req.ifModifiedSince)) {
    const date = httpDate(req.ifModifiedSince);
    if (date !== null && modified <= date) return { status: 304 };
  }

  if (method !== 'GET' || rep.size === null || !present(req.range)) return whole(rep.size);
  // If-Range without a Range is ignored (§13.1.5); with one that does not hold, the Range is ignored.
  if (present(req.ifRange) && !ifRangeHolds(req.ifRange, rep, etag)) return whole(rep.size);
  const parsed = parseRanges(req.range, rep.size);
  if (parsed.kind === 'unsatisfiable') return { status: 416, contentRange: `bytes */${rep.size}` };
  if (parsed.kind === 'ignore' || parsed.ranges.length !== 1) return whole(rep.size);
  const [start, end] = parsed.ranges[0];
  return { status: 206, start, end, length: end - start + 1, contentRange: `bytes ${start}-${end}/${rep.size}` };
}

import { expect } from 'chai';
import { type PlanRequest, type PlanRepresentation, planResponse } from '../../../server/http/response-plan.js';

/** RFC 9110 §13 (conditional requests) and §14 (range requests), case by case, against the pure planner. */
const ETAG = '"abc"';
const MODIFIED = new Date('2026-11-22T10:00:00.700Z'); // sent as 10:00:00 GMT: HTTP-dates have whole seconds
const AT = 'Sun, 22 Nov 2026 10:00:00 GMT';
const BEFORE = 'Sun, 22 Nov 2026 09:59:59 GMT';
const AFTER = 'Sun, 22 Nov 2026 10:00:01 GMT';
const rep: PlanRepresentation = { size: 1000, etag: ETAG, lastModified: MODIFIED };

const plan = (headers: Omit<PlanRequest, 'method'>, method = 'GET', r: PlanRepresentation = rep) =>
  planResponse({ method, ...headers }, r);
const status = (headers: Omit<PlanRequest, 'method'>, method = 'GET', r: PlanRepresentation = rep) =>
  plan(headers, method, r).status;

describe('planResponse (RFC 9110 §13–14)', () => {
  it('no conditions, no range: the whole representation; an unknown size streams everything', () => {
    expect(plan({})).to.deep.equal({ status: 200, start: 0, end: 999, length: 1000 });
    expect(plan({ range: 'bytes=0-9' }, 'GET', { ...rep, size: null })).to.deep.equal({
      status: 200,
      start: 0,
      end: -1,
      length: null,
    });
  });

  describe('§13.1.1 If-Match (strong comparison)', () => {
    it('holds for the current tag, a list containing it, or *; fails for others → 412', () => {
      expect(status({ ifMatch: ETAG })).to.equal(200);
      expect(status({ ifMatch: `"x", ${ETAG}` })).to.equal(200);
      expect(status({ ifMatch: '*' })).to.equal(200);
      expect(status({ ifMatch: '"x"' })).to.equal(412);
    });
    it('a weak tag never matches strongly; a representation without a tag only matches *', () => {
      expect(status({ ifMatch: `W/${ETAG}` })).to.equal(412);
      expect(status({ ifMatch: ETAG }, 'GET', { ...rep, etag: null })).to.equal(412);
      expect(status({ ifMatch: '*' }, 'GET', { ...rep, etag: null })).to.equal(200);
    });
    it('a malformed list matches nothing', () => {
      expect(status({ ifMatch: 'abc' })).to.equal(412);
    });
  });

  describe('§13.1.4 If-Unmodified-Since', () => {
    it('fails when modified after the date, holds at or before it; an invalid date is ignored', () => {
      expect(status({ ifUnmodifiedSince: BEFORE })).to.equal(412);
      expect(status({ ifUnmodifiedSince: AT })).to.equal(200);
      expect(status({ ifUnmodifiedSince: AFTER })).to.equal(200);
      expect(status({ ifUnmodifiedSince: 'yesterday' })).to.equal(200);
      expect(status({ ifUnmodifiedSince: '1' })).to.equal(200);
    });
    it('is ignored when If-Match is present (§13.2.2 step 2)', () => {
      expect(status({ ifMatch: ETAG, ifUnmodifiedSince: BEFORE })).to.equal(200);
      expect(status({ ifMatch: '"x"', ifUnmodifiedSince: AFTER })).to.equal(412);
    });
  });

  describe('§13.1.2 If-None-Match (weak comparison)', () => {
    it('a matching tag (weak or strong), a list containing it, or * → 304 for GET and HEAD', () => {
      expect(status({ ifNoneMatch: ETAG })).to.equal(304);
      expect(status({ ifNoneMatch: `W/${ETAG}` })).to.equal(304);
      expect(status({ ifNoneMatch: `"other", ${ETAG}` })).to.equal(304);
      expect(status({ ifNoneMatch: '*' })).to.equal(304);
      expect(status({ ifNoneMatch: ETAG }, 'HEAD')).to.equal(304);
    });
    it('no match → 200; other methods get 412 instead of 304', () => {
      expect(status({ ifNoneMatch: '"other"' })).to.equal(200);
      expect(status({ ifNoneMatch: ETAG }, 'POST')).to.equal(412);
    });
  });

  describe('§13.1.3 If-Modified-Since', () => {
    it('not modified since the date → 304; modified after it → 200; invalid dates are ignored', () => {
      expect(status({ ifModifiedSince: AT })).to.equal(304);
      expect(status({ ifModifiedSince: AFTER })).to.equal(304);
      expect(status({ ifModifiedSince: BEFORE })).to.equal(200);
      expect(status({ ifModifiedSince: 'not a date' })).to.equal(200);
    });
    it('is ignored with If-None-Match (§13.2.2 step 4) and for methods other than GET/HEAD', () => {
      expect(status({ ifNoneMatch: '"other"', ifModifiedSince: AT })).to.equal(200);
      expect(status({ ifModifiedSince: AT }, 'HEAD')).to.equal(304);
      expect(status({ ifModifiedSince: AT }, 'POST')).to.equal(200);
    });
  });

  describe('§13.2.2 precedence', () => {
    it('If-Match is evaluated before If-None-Match: 412 wins over 304', () => {
      expect(status({ ifMatch: '"x"', ifNoneMatch: ETAG })).to.equal(412);
    });
    it('If-Unmodified-Since before If-None-Match and If-Modified-Since', () => {
      expect(status({ ifUnmodifiedSince: BEFORE, ifNoneMatch: ETAG })).to.equal(412);
      expect(status({ ifUnmodifiedSince: BEFORE, ifModifiedSince: AT })).to.equal(412);
    });
    it('preconditions before ranges: a 304 or 412 ignores Range', () => {
      expect(status({ ifNoneMatch: ETAG, range: 'bytes=0-9' })).to.equal(304);
      expect(status({ ifMatch: '"x"', range: 'bytes=0-9' })).to.equal(412);
      expect(status({ ifMatch: ETAG, range: 'bytes=0-9' })).to.equal(206);
    });
  });

  describe('§14.1 byte ranges', () => {
    it('first-last, open-ended, suffix; a last-pos past the end is clipped', () => {
      expect(plan({ range: 'bytes=0-99' })).to.deep.equal({
        status: 206,
        start: 0,
        end: 99,
        length: 100,
        contentRange: 'bytes 0-99/1000',
      });
      expect(plan({ range: 'bytes=990-' })).to.include({ status: 206, start: 990, end: 999 });
      expect(plan({ range: 'bytes=-100' })).to.include({ status: 206, start: 900, end: 999 });
      expect(plan({ range: 'bytes=5-999999999' })).to.include({ status: 206, start: 5, end: 999 });
      expect(plan({ range: 'BYTES = 1-1' })).to.include({
        status: 206,
        start: 1,
        end: 1,
        contentRange: 'bytes 1-1/1000',
      });
    });
    it('a suffix longer than the representation selects all of it', () => {
      expect(plan({ range: 'bytes=-5000' })).to.include({
        status: 206,
        start: 0,
        end: 999,
        contentRange: 'bytes 0-999/1000',
      });
    });
    it('unsatisfiable: first-pos at or past the end, a zero suffix, or no satisfiable range in a set → 416 bytes */size', () => {
      expect(plan({ range: 'bytes=1000-' })).to.deep.equal({ status: 416, contentRange: 'bytes */1000' });
      expect(status({ range: 'bytes=-0' })).to.equal(416);
      expect(status({ range: 'bytes=1000-1001, 2000-' })).to.equal(416);
    });
    it('invalid syntax or another unit is ignored: the whole representation', () => {
      for (const range of ['bytes=5-1', 'items=0-1', 'bytes=abc', 'bytes=', 'bytes=-', 'bytes=1-2-3', 'bytes 0-1']) {
        expect(status({ range }), range).to.equal(200);
      }
    });
    it('multiple ranges: overlapping or adjacent ones coalesce into one 206; disjoint ones get the whole (no multipart)', () => {
      expect(plan({ range: 'bytes=0-9, 5-19' })).to.include({ status: 206, start: 0, end: 19 });
      expect(plan({ range: 'bytes=10-19,0-9' })).to.include({ status: 206, start: 0, end: 19 });
      expect(plan({ range: 'bytes=0-1,5-9' })).to.include({ status: 200, start: 0, end: 999 });
      expect(plan({ range: 'bytes=-10, 995-' })).to.include({ status: 206, start: 990, end: 999 });
    });
    it('unsatisfiable members of a set are dropped; the satisfiable one is served', () => {
      expect(plan({ range: 'bytes=0-9, 5000-6000' })).to.include({ status: 206, start: 0, end: 9 });
    });
    it('an empty representation: an int-range is unsatisfiable, a suffix-range gives the empty whole', () => {
      const empty = { ...rep, size: 0 };
      expect(plan({ range: 'bytes=0-' }, 'GET', empty)).to.deep.equal({ status: 416, contentRange: 'bytes */0' });
      expect(plan({ range: 'bytes=-5' }, 'GET', empty)).to.deep.equal({ status: 200, start: 0, end: -1, length: 0 });
    });
    it('range handling is defined for GET only: HEAD ignores Range', () => {
      expect(status({ range: 'bytes=0-9' }, 'HEAD')).to.equal(200);
    });
  });

  describe('§13.1.5 If-Range', () => {
    it('with the current strong ETag the Range applies; a stale or weak one sends the whole', () => {
      expect(status({ range: 'bytes=0-9', ifRange: ETAG })).to.equal(206);
      expect(status({ range: 'bytes=0-9', ifRange: '"stale"' })).to.equal(200);
      expect(status({ range: 'bytes=0-9', ifRange: `W/${ETAG}` })).to.equal(200);
      expect(status({ range: 'bytes=0-9', ifRange: ETAG }, 'GET', { ...rep, etag: null })).to.equal(200);
    });
    it('with a date the Range applies only for an exact match of Last-Modified', () => {
      expect(status({ range: 'bytes=0-9', ifRange: AT })).to.equal(206);
      expect(status({ range: 'bytes=0-9', ifRange: BEFORE })).to.equal(200);
      expect(status({ range: 'bytes=0-9', ifRange: AFTER })).to.equal(200);
      expect(status({ range: 'bytes=0-9', ifRange: 'garbage' })).to.equal(200);
    });
    it('is ignored without a Range; when it holds, an unsatisfiable Range is still 416', () => {
      expect(status({ ifRange: '"stale"' })).to.equal(200);
      expect(status({ range: 'bytes=5000-', ifRange: ETAG })).to.equal(416);
      expect(status({ range: 'bytes=5000-', ifRange: '"stale"' })).to.equal(200);
    });
  });
});

import { expect } from 'chai';
import { ChunkedSink, SLICE_CHARS } from '../../../server/domain/produce/sink.js';
import { MemoryWritable } from './helpers.js';

describe('produce/sink', () => {
  it('writes one huge value in slices of at most SLICE_CHARS, never splitting a surrogate pair', async () => {
    const out = new MemoryWritable();
    const sink = new ChunkedSink(out);
    // A pair straddles the first slice boundary: a naive cut would write two U+FFFD instead of the emoji.
    const text = `${'a'.repeat(SLICE_CHARS - 1)}😀${'b'.repeat(SLICE_CHARS * 2)}`;
    sink.add(text);
    await sink.end();
    expect(Buffer.concat(out.chunks).equals(Buffer.from(text, 'utf8'))).to.equal(true);
    expect(out.writes).to.be.at.least(3);
    expect(Math.max(...out.chunks.map((c) => c.length))).to.be.at.most(SLICE_CHARS * 3);
  });
});

package io.peerfs.vfs;

import io.peerfs.fetch.ChunkFetcher;
import io.peerfs.fetch.HeldBytes;
import java.io.IOException;
import java.nio.ByteBuffer;

/** Reads of source files (backend data) through the chunk fetcher, with readahead for sequential readers. */
final class SourceFiles {
    private final ChunkFetcher fetcher;
    private final int chunkSize;
    private final int readaheadChunks;

    SourceFiles(ChunkFetcher fetcher, int chunkSize, int readaheadChunks) {
        this.fetcher = fetcher;
        this.chunkSize = chunkSize;
        this.readaheadChunks = readaheadChunks;
    }

    int chunkSize() {
        return chunkSize;
    }

    int read(OpenFile f, long offset, ByteBuffer dst) throws IOException {
        long size = f.attr.size();
        if (offset >= size) {
            return 0;
        }
        if (dst.remaining() > size - offset) {
            dst.limit(dst.position() + (int) (size - offset));
        }
        int total = 0;
        while (dst.hasRemaining()) {
            long pos = offset + total;
            int n = fetcher.read(f.chunk(pos / chunkSize), pos % chunkSize, dst);
            if (n <= 0) {
                break;
            }
            total += n;
        }
        readAhead(f, offset, offset + total);
        return total;
    }

    /**
     * The {@code size} bytes from {@code offset} where they are in memory (see
     * {@link ChunkFetcher#hold}), when they are all there in one chunk; else null, and the
     * caller reads them.
     */
    HeldBytes hold(OpenFile f, long offset, int size) throws IOException {
        long fileSize = f.attr.size();
        if (offset >= fileSize) {
            return null;
        }
        long inChunk = offset % chunkSize;
        int want = (int) Math.min(size, fileSize - offset);
        if (inChunk + want > chunkSize) {
            return null; // two chunks: a read puts them together
        }
        HeldBytes held = fetcher.hold(f.chunk(offset / chunkSize), inChunk, want);
        if (held != null && held.length() < want) {
            held.close(); // the chunk is shorter than the file says: the read finds out why
            return null;
        }
        if (held != null) {
            readAhead(f, offset, offset + want);
        }
        return held;
    }

    /** Whether the chunk holding {@code offset} is read from the cache disk rather than memory or elsewhere. */
    boolean readsFromCacheDisk(OpenFile f, long offset) {
        return offset < f.attr.size() && fetcher.readsFromStore(f.chunk(offset / chunkSize));
    }

    /**
     * Loads the chunks holding bytes {@code [offset, offset + length)} into this node's cache,
     * or with {@code atOwner} into each chunk's owner's; false when a cache could not keep one.
     */
    boolean warm(OpenFile f, long offset, long length, boolean atOwner) throws IOException {
        long end = Math.min(f.attr.size(), offset + length);
        for (long idx = offset / chunkSize; idx * chunkSize < end; idx++) {
            if (!fetcher.warm(f.chunk(idx), atOwner)) {
                return false;
            }
        }
        return true;
    }

    /**
     * Keeps the chunks holding bytes {@code [offset, offset + length)} resident at their owners
     * (loaded there if needed); false when an owner did not keep one.
     */
    boolean pinAtOwners(OpenFile f, long offset, long length) throws IOException {
        long end = Math.min(f.attr.size(), offset + length);
        for (long idx = offset / chunkSize; idx * chunkSize < end; idx++) {
            if (!fetcher.pinAtOwner(f.chunk(idx))) {
                return false;
            }
        }
        return true;
    }

    /**
     * Drops the file's chunks from this node's cache and, with {@code cluster}, asks each
     * chunk's owner to drop its copy too; returns the bytes dropped here.
     */
    long evict(OpenFile f, boolean cluster) throws IOException {
        long dropped = 0;
        for (long idx = 0; idx < f.chunkCount(); idx++) {
            io.peerfs.fetch.ChunkRef ref = f.chunk(idx);
            if (fetcher.evict(ref)) {
                dropped += ref.length();
            }
            if (cluster) {
                fetcher.evictAtOwner(ref);
            }
        }
        return dropped;
    }

    /** Bytes of the file whose chunks are in this node's cache. */
    long cachedBytes(OpenFile f) {
        long cached = 0;
        for (long idx = 0; idx < f.chunkCount(); idx++) {
            io.peerfs.fetch.ChunkRef ref = f.chunk(idx);
            if (fetcher.cached(ref)) {
                cached += ref.length();
            }
        }
        return cached;
    }

    /** A reader continuing where it stopped is sequential: load the chunks it will want next. */
    private void readAhead(OpenFile f, long start, long end) {
        boolean sequential = start == f.lastEnd || start == 0;
        f.lastEnd = end;
        if (!sequential || readaheadChunks <= 0) {
            return;
        }
        long current = Math.max(0, end - 1) / chunkSize;
        long upTo = Math.min(f.chunkCount() - 1, current + readaheadChunks);
        if (upTo <= f.readaheadUpTo) {
            return;
        }
        // the current chunk too when the reader is new: a cached chunk is then read ahead from disk
        for (long i = Math.max(current, f.readaheadUpTo + 1); i <= upTo; i++) {
            fetcher.prefetch(f.chunk(i));
        }
        f.readaheadUpTo = upTo;
    }
}

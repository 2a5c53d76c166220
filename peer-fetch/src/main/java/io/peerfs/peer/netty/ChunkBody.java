package io.peerfs.peer.netty;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.FileRegion;
import io.netty.handler.stream.ChunkedInput;
import io.netty.handler.stream.ChunkedNioFile;
import io.netty.util.AbstractReferenceCounted;
import io.netty.util.IllegalReferenceCountException;
import io.peerfs.chunk.ChunkStore;
import java.io.EOFException;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.WritableByteChannel;

/**
 * The body of a CHUNK answer that opens its chunk file only when its first bytes go to the
 * socket: answers queued behind a slow reader hold no descriptor, so open chunk files are
 * bounded by the connections being written to, not by the answers waiting. A file that
 * cannot be opened then (evicted meanwhile) fails the write, which closes the connection:
 * its header is already on the wire.
 */
final class ChunkBody {
    private ChunkBody() {
    }

    /** Sent with {@code sendfile}. */
    static FileRegion region(ChunkStore.ChunkFile source, int length) {
        return new Region(source, length);
    }

    /** Read in pieces of {@code piece} bytes (for TLS, which must see the bytes). */
    static ChunkedInput<ByteBuf> pieces(ChunkStore.ChunkFile source, int length, int piece) {
        return new Pieces(source, length, piece);
    }

    private static final class Region extends AbstractReferenceCounted implements FileRegion {
        private final ChunkStore.ChunkFile source;
        private final long count;
        private FileChannel file;
        private long transferred;

        Region(ChunkStore.ChunkFile source, long count) {
            this.source = source;
            this.count = count;
        }

        @Override
        public long position() {
            return 0;
        }

        @Override
        public long count() {
            return count;
        }

        @Override
        public long transferred() {
            return transferred;
        }

        @Override
        @Deprecated
        public long transfered() {
            return transferred;
        }

        @Override
        public long transferTo(WritableByteChannel target, long position) throws IOException {
            if (refCnt() == 0) {
                throw new IllegalReferenceCountException(0);
            }
            long left = count - position;
            if (left <= 0) {
                return 0;
            }
            if (file == null) {
                file = source.open();
            }
            long written = file.transferTo(position, left, target);
            if (written > 0) {
                transferred += written;
            } else if (written == 0 && file.size() < count) {
                throw new EOFException("chunk file shrank to " + file.size() + " of " + count + " bytes while sent");
            }
            return written;
        }

        @Override
        protected void deallocate() {
            if (file != null) {
                try {
                    file.close();
                } catch (IOException e) {
                    // nothing was written through it
                }
            }
        }

        @Override
        public FileRegion retain() {
            super.retain();
            return this;
        }

        @Override
        public FileRegion retain(int increment) {
            super.retain(increment);
            return this;
        }

        @Override
        public FileRegion touch() {
            return this;
        }

        @Override
        public FileRegion touch(Object hint) {
            return this;
        }
    }

    private static final class Pieces implements ChunkedInput<ByteBuf> {
        private final ChunkStore.ChunkFile source;
        private final int length;
        private final int piece;
        private ChunkedNioFile file;

        Pieces(ChunkStore.ChunkFile source, int length, int piece) {
            this.source = source;
            this.length = length;
            this.piece = piece;
        }

        private ChunkedNioFile file() throws IOException {
            if (file == null) {
                file = new ChunkedNioFile(source.open(), 0, length, piece);
            }
            return file;
        }

        @Override
        public boolean isEndOfInput() throws Exception {
            return length == 0 || file != null && file.isEndOfInput();
        }

        @Override
        public void close() throws Exception {
            if (file != null) {
                file.close();
            }
        }

        @Override
        @Deprecated
        public ByteBuf readChunk(io.netty.channel.ChannelHandlerContext ctx) throws Exception {
            return readChunk(ctx.alloc());
        }

        @Override
        public ByteBuf readChunk(ByteBufAllocator allocator) throws Exception {
            return length == 0 ? null : file().readChunk(allocator);
        }

        @Override
        public long length() {
            return length;
        }

        @Override
        public long progress() {
            return file == null ? 0 : file.progress();
        }
    }
}

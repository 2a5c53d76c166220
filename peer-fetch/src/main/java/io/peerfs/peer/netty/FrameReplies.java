package io.peerfs.peer.netty;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.peerfs.chunk.ChunkStore;
import io.peerfs.chunk.DirectBufferPool;
import io.peerfs.peer.MetaCodec;
import io.peerfs.peer.PeerService;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Turns {@link PeerService} answers into frames on a connection, from any thread. Chunk
 * files go out with {@code sendfile} (in 64 KiB pieces through TLS), opened only when their
 * turn to be sent comes ({@link ChunkBody}); where frames are tagged the chunk's SHA-256 is
 * read first, on the calling thread ({@link FrameSeal}). A metadata
 * answer longer than {@link #MAX_META_PART} goes in parts.
 */
final class FrameReplies {
    /** Longest piece of a metadata answer in one frame; a longer answer is sent in parts. */
    static final int MAX_META_PART = 1 << 20;
    /** Answers sent in parts at once, over all connections; see {@link Reply#meta}. */
    static final int MAX_META_STREAMS = 8;
    private final boolean tls;
    private final int metaPart;
    /** Chunk files are read through these for their digest on connections without TLS. */
    private final DirectBufferPool digestBuffers = new DirectBufferPool(256 * 1024, 4);
    private final AtomicInteger metaStreams = new AtomicInteger();

    FrameReplies(boolean tls, int maxChunk) {
        this.tls = tls;
        this.metaPart = Math.min(MAX_META_PART, maxChunk);
    }

    /** Where the answer to request {@code reqId} of the connection of {@code ctx} goes. */
    PeerService.Reply to(ChannelHandlerContext ctx, long reqId) {
        return new Reply(ctx, reqId);
    }

    private final class Reply implements PeerService.Reply {
        private final ChannelHandlerContext ctx;
        private final long reqId;

        Reply(ChannelHandlerContext ctx, long reqId) {
            this.ctx = ctx;
            this.reqId = reqId;
        }

        @Override
        public void chunk(ChunkStore.Exported e) throws IOException {
            byte[] digest = null;
            if (ctx.pipeline().get(FrameSeal.class) != null) {
                ByteBuffer buf = digestBuffers.acquire();
                try (java.nio.channels.FileChannel file = e.file().open()) {
                    digest = FrameSeal.digest(file, e.length(), buf);
                } finally {
                    digestBuffers.release(buf);
                }
            }
            Object body = tls ? ChunkBody.pieces(e.file(), e.length(), 64 * 1024)
                    : ChunkBody.region(e.file(), e.length());
            send(e.length(), e.blockCrcs(), body, digest);
        }

        @Override
        public void chunk(ByteBuffer bytes, int[] crcs) {
            ByteBuf body = Unpooled.wrappedBuffer(bytes);
            int n = body.readableBytes();
            send(n, crcs, body, ctx.pipeline().get(FrameSeal.class) == null ? null : FrameSeal.digest(body, 0, n));
        }

        /**
         * Writes a CHUNK answer, header and body in one event-loop task so that other answers
         * cannot slip between; the header carries the body's digest where frames are tagged.
         */
        private void send(int length, int[] crcs, Object body, byte[] digest) {
            ctx.executor().execute(() -> {
                ByteBuf header = Frames.chunkHeader(ctx.alloc(), reqId, length, crcs);
                ctx.write(digest == null ? header : new FrameSeal.ChunkHead(header, digest));
                ctx.writeAndFlush(body);
            });
        }

        /**
         * The answer in one frame; one longer than a part in frames of status MORE with its
         * next bytes, the last one status 0. At most {@link #MAX_META_STREAMS} go in parts at
         * once (each holds its whole answer until sent); past that the asker is told TOO_LARGE
         * and reads the backend itself.
         */
        @Override
        public void meta(byte kind, byte status, Object value) {
            ByteBuf answer = ctx.alloc().buffer();
            if (status == 0) {
                MetaCodec.writeAnswer(answer, kind, value);
            }
            if (answer.readableBytes() <= metaPart) {
                ctx.writeAndFlush(Unpooled.wrappedBuffer(metaHead(status, answer.readableBytes()), answer));
                return;
            }
            if (metaStreams.incrementAndGet() > MAX_META_STREAMS) {
                metaStreams.decrementAndGet();
                answer.release();
                ctx.writeAndFlush(metaHead(MetaCodec.TOO_LARGE, 0));
                return;
            }
            ChannelFuture last = null;
            while (answer.isReadable()) {
                int n = Math.min(metaPart, answer.readableBytes());
                byte partStatus = n == answer.readableBytes() ? 0 : MetaCodec.MORE;
                last = ctx.writeAndFlush(Unpooled.wrappedBuffer(metaHead(partStatus, n), answer.readRetainedSlice(n)));
            }
            answer.release();
            last.addListener(f -> metaStreams.decrementAndGet());
        }

        private ByteBuf metaHead(byte status, int answerLength) {
            return Frames.start(ctx.alloc(), Frames.META, 8 + 1 + answerLength).writeLong(reqId).writeByte(status);
        }

        @Override
        public void ok() {
            ctx.writeAndFlush(Frames.start(ctx.alloc(), Frames.OK, 8).writeLong(reqId));
        }

        @Override
        public void error(String message) {
            ctx.writeAndFlush(Frames.error(ctx.alloc(), reqId, message));
        }
    }
}

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
import java.util.concurrent.atomic.AtomicLong;

/**
 * Turns {@link PeerService} answers into frames on a connection, from any thread. Chunk
 * files go out with {@code sendfile} (in 64 KiB pieces through TLS), opened only when their
 * turn to be sent comes ({@link ChunkBody}); where frames are tagged the chunk's SHA-256 goes
 * with it ({@link FrameSeal}): the store's, or read from the file on the calling thread the
 * first time and given to the store to keep. A metadata
 * answer longer than {@link #MAX_META_PART} goes in parts.
 *
 * <p>What waits in memory to be sent is bounded over all connections, whether or not the
 * askers read: metadata answers by {@link #MAX_META_BYTES}, chunks in memory by the
 * {@link PeerService}'s own budget (this class says when their bytes are gone).
 */
final class FrameReplies {
    /** Longest piece of a metadata answer in one frame; a longer answer is sent in parts. */
    static final int MAX_META_PART = 1 << 20;
    /** Bytes of metadata answers made and not yet sent, over all connections; see {@link Reply#meta}. */
    static final long MAX_META_BYTES = 64L << 20;
    private final boolean tls;
    private final int metaPart;
    /** Chunk files are read through these for their digest on connections without TLS. */
    private final DirectBufferPool digestBuffers = new DirectBufferPool(256 * 1024, 4);
    private final AtomicLong metaBytes = new AtomicLong();
    private long maxMetaBytes = MAX_META_BYTES;

    FrameReplies(boolean tls, int maxChunk) {
        this.tls = tls;
        this.metaPart = Math.min(MAX_META_PART, maxChunk);
    }

    /** Lowers {@link #MAX_META_BYTES} (tests). */
    void limitMetaBytes(long max) {
        this.maxMetaBytes = max;
    }

    /** Bytes of metadata answers waiting to be sent, over all connections. */
    long metaBytes() {
        return metaBytes.get();
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
                digest = e.sha256();
                if (digest == null) { // the first peer sent this chunk: digested once, kept by the store
                    ByteBuffer buf = digestBuffers.acquire();
                    try (java.nio.channels.FileChannel file = e.file().open()) {
                        digest = FrameSeal.digest(file, e.length(), buf);
                    } finally {
                        digestBuffers.release(buf);
                    }
                    e.keepSha256().accept(digest);
                }
            }
            Object body = tls ? ChunkBody.pieces(e.file(), e.length(), 64 * 1024)
                    : ChunkBody.region(e.file(), e.length());
            send(e.length(), e.blockCrcs(), body, digest, null);
        }

        @Override
        public void chunk(ByteBuffer bytes, int[] crcs, Runnable gone) {
            ByteBuf body = Unpooled.wrappedBuffer(bytes);
            int n = body.readableBytes();
            send(n, crcs, body, ctx.pipeline().get(FrameSeal.class) == null ? null : FrameSeal.digest(body, 0, n),
                    gone);
        }

        /**
         * Writes a CHUNK answer, header and body in one event-loop task so that other answers
         * cannot slip between; the header carries the body's digest where frames are tagged.
         * {@code gone} (if any) runs once the body is sent or dropped.
         */
        private void send(int length, int[] crcs, Object body, byte[] digest, Runnable gone) {
            ctx.executor().execute(() -> {
                ByteBuf header = Frames.chunkHeader(ctx.alloc(), reqId, length, crcs);
                ctx.write(digest == null ? header : new FrameSeal.ChunkHead(header, digest));
                ChannelFuture sent = ctx.writeAndFlush(body);
                if (gone != null) {
                    sent.addListener(f -> gone.run());
                }
            });
        }

        /**
         * The answer in one frame; one longer than a part in frames of status MORE with its
         * next bytes, the last one status 0. Answers waiting to be sent hold at most
         * {@link #MAX_META_BYTES} over all connections; past that the asker is told TOO_LARGE
         * and reads the backend itself (as for an answer past what it takes).
         */
        @Override
        public void meta(byte kind, byte status, Object value) {
            ByteBuf answer = ctx.alloc().buffer();
            if (status == 0) {
                MetaCodec.writeAnswer(answer, kind, value);
            }
            long size = answer.readableBytes();
            if (metaBytes.addAndGet(size) > maxMetaBytes) {
                metaBytes.addAndGet(-size);
                answer.release();
                ctx.writeAndFlush(metaHead(MetaCodec.TOO_LARGE, 0));
                return;
            }
            ChannelFuture last = null;
            do {
                int n = Math.min(metaPart, answer.readableBytes());
                byte partStatus = n == answer.readableBytes() ? status : MetaCodec.MORE;
                last = ctx.writeAndFlush(Unpooled.wrappedBuffer(metaHead(partStatus, n), answer.readRetainedSlice(n)));
            } while (answer.isReadable());
            answer.release();
            last.addListener(f -> metaBytes.addAndGet(-size));
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

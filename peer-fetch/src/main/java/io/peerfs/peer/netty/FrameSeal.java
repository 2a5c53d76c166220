package io.peerfs.peer.netty;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.DefaultByteBufHolder;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.channel.FileRegion;
import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import javax.crypto.Mac;

/**
 * Authenticates every frame after the handshake on a connection without TLS: each frame
 * then ends in a 16-byte tag, HMAC-SHA256 under a key of its direction derived from the
 * handshake ({@link Frames#sessionKey}), over the frame's sequence number in that direction
 * and its bytes after the length field. A CHUNK frame's body is covered by its SHA-256
 * instead of by its bytes: the sender sends the digest after the body and tags the header
 * and the digest, so it can send a chunk file with sendfile and digest each chunk once
 * (its store keeps the digest, {@link ChunkHead}); the receiver checks the tag, then the
 * body against the digest. An injected, altered, dropped, reordered or replayed frame fails
 * the check and closes the connection ({@link ProtocolException}). A body that does not
 * match its digest and also fails a block's CRC32C is passed on as it is: that is how a
 * chunk corrupted on the sender's disk arrives (its digest was taken before), and the
 * receiver's CRC check turns it away and asks the next source; one that keeps every CRC
 * but not the digest was altered on purpose and closes the connection.
 *
 * <p>Sits right behind the frame decoder: it sees whole inbound frames (length field
 * removed) in arrival order and outbound messages in wire order, so the sequence numbers of
 * both ends agree. Before {@link #start} frames pass unchanged (the handshake authenticates
 * itself). Event loop only.
 */
final class FrameSeal extends ChannelDuplexHandler {
    static final int TAG = 16;
    /** Bytes of a CHUNK body's SHA-256, sent after the body. */
    static final int DIGEST = 32;
    private Mac in;
    private Mac out;
    private long inSeq;
    private long outSeq;
    /** A frame failed its check: the connection is closing, and what was read behind it is dropped. */
    private boolean failed;
    /** Bytes of the current outbound frame still to pass (a chunk body after its header). */
    private long bodyLeft;
    /** The body's digest and the frame's tag, to send once {@link #bodyLeft} reaches 0. */
    private byte[] pendingTrailer;

    /** A CHUNK frame's header, written alone; its body of {@code length} bytes follows as other messages. */
    static final class ChunkHead extends DefaultByteBufHolder {
        final byte[] bodyDigest;

        ChunkHead(ByteBuf header, byte[] bodyDigest) {
            super(header);
            this.bodyDigest = bodyDigest;
        }
    }

    /** From now on frames are tagged and checked, with these keys (32 bytes each). */
    void start(byte[] inKey, byte[] outKey) {
        in = Frames.hmac(inKey);
        out = Frames.hmac(outKey);
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) throws Exception {
        if (in == null || !(msg instanceof ByteBuf frame)) {
            ctx.fireChannelRead(msg);
            return;
        }
        if (failed) {
            frame.release();
            return;
        }
        try {
            failed = true; // until it passes
            int content = frame.readableBytes() - TAG;
            if (content < 2) {
                throw new ProtocolException("frame too short for its tag");
            }
            int from = frame.readerIndex();
            boolean chunk = frame.getByte(from + 1) == Frames.CHUNK;
            int body = 0; // a CHUNK's body is covered by the digest after it
            if (chunk) {
                content -= DIGEST;
                body = content >= 2 + 8 + 4 ? frame.getInt(from + 2 + 8) : -1;
                if (body < 0 || body > content - 2 - 8 - 4) {
                    throw new ProtocolException("chunk frame shorter than its body");
                }
            }
            in.update(longBytes(inSeq++));
            update(in, frame, from, content - body);
            if (chunk) {
                update(in, frame, from + content, DIGEST);
            }
            byte[] expected = in.doFinal();
            byte[] tag = new byte[TAG];
            frame.getBytes(from + content + (chunk ? DIGEST : 0), tag);
            if (!MessageDigest.isEqual(tag, java.util.Arrays.copyOf(expected, TAG))) {
                throw new ProtocolException("frame failed its authentication tag (forged, altered or replayed)");
            }
            if (chunk && body > 0) {
                byte[] sent = new byte[DIGEST];
                frame.getBytes(from + content, sent);
                if (!MessageDigest.isEqual(sent, digest(frame, from + content - body, body))
                        && Frames.firstBadBlock(frame, from + 2, from + content) < 0) {
                    throw new ProtocolException("chunk body altered on the way: it keeps its CRC32Cs, not its digest");
                }
            }
            failed = false;
            ctx.fireChannelRead(frame.retainedSlice(from, content));
        } finally {
            frame.release();
        }
    }

    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) throws Exception {
        if (out == null) {
            ctx.write(msg instanceof ChunkHead h ? h.content() : msg, promise);
            return;
        }
        if (bodyLeft > 0) { // part of a chunk body
            bodyLeft -= msg instanceof FileRegion r ? r.count() : ((ByteBuf) msg).readableBytes();
            ctx.write(msg, promise);
            if (bodyLeft <= 0) {
                ctx.write(ctx.alloc().buffer(DIGEST + TAG).writeBytes(pendingTrailer));
                pendingTrailer = null;
            }
            return;
        }
        ByteBuf head = msg instanceof ChunkHead h ? h.content() : (ByteBuf) msg;
        int length = head.getInt(head.readerIndex());
        int content = head.readableBytes() - 4;
        out.update(longBytes(outSeq++));
        update(out, head, head.readerIndex() + 4, content);
        if (!(msg instanceof ChunkHead h)) {
            if (content != length) {
                throw new IllegalStateException("a frame written in parts must be a ChunkHead and its body");
            }
            head.setInt(head.readerIndex(), length + TAG);
            ctx.write(head, promise);
            ctx.write(ctx.alloc().buffer(TAG).writeBytes(out.doFinal(), 0, TAG));
            return;
        }
        out.update(h.bodyDigest);
        byte[] trailer = new byte[DIGEST + TAG];
        System.arraycopy(h.bodyDigest, 0, trailer, 0, DIGEST);
        System.arraycopy(out.doFinal(), 0, trailer, DIGEST, TAG);
        head.setInt(head.readerIndex(), length + DIGEST + TAG);
        ctx.write(head, promise);
        bodyLeft = length - content;
        if (bodyLeft == 0) {
            ctx.write(ctx.alloc().buffer(DIGEST + TAG).writeBytes(trailer));
        } else {
            pendingTrailer = trailer;
        }
    }

    /** SHA-256 of {@code length} bytes of {@code b} from {@code index}, read in place. */
    static byte[] digest(ByteBuf b, int index, int length) {
        MessageDigest d = sha256();
        for (ByteBuffer part : b.nioBuffers(index, length)) {
            d.update(part);
        }
        return d.digest();
    }

    /** SHA-256 of a chunk file's first {@code length} bytes, read through {@code buf}. */
    static byte[] digest(java.nio.channels.FileChannel file, int length, ByteBuffer buf) throws java.io.IOException {
        MessageDigest d = sha256();
        long pos = 0;
        while (pos < length) {
            buf.clear().limit((int) Math.min(buf.capacity(), length - pos));
            int n = file.read(buf, pos);
            if (n < 0) {
                throw new java.io.EOFException("chunk file ended at " + pos + " of " + length + " bytes");
            }
            pos += n;
            d.update(buf.flip());
        }
        return d.digest();
    }

    private static void update(Mac mac, ByteBuf b, int index, int length) {
        for (ByteBuffer part : b.nioBuffers(index, length)) {
            mac.update(part);
        }
    }

    private static byte[] longBytes(long v) {
        return ByteBuffer.allocate(8).putLong(v).array();
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is part of every JDK", e);
        }
    }
}

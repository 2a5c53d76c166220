package io.peerfs.peer.netty;

import io.peerfs.chunk.ChunkStore;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * The peer protocol's frames: {@code int length} (of what follows), {@code byte version},
 * {@code byte type}, then the type's fields, big-endian.
 *
 * <pre>
 * CHALLENGE  s→c  nonce[32]
 * AUTH       c→s  nonce[32] mac[32] nodeIdLen:u16 nodeId    mac = HMAC-SHA256(secret, "peerfs-v1 client"|sNonce|cNonce|nodeId)
 * AUTH_OK    s→c  mac[32]                                    mac = HMAC-SHA256(secret, "peerfs-v1 server"|cNonce|sNonce)
 * GET        c→s  reqId:i64 key[16] fileOffset:i64 length:i32 fileSize:i64 mtimeNs:i64 pathLen:u16 path
 *                 (the server recomputes the key from path, size, mtime and offset: a mismatch closes)
 * HELD       c→s  reqId:i64 key[16]                         a scratch chunk the server holds; never read from the backend
 * FREE       c→s  reqId:i64 ino:i64 key[16]                 the scratch file no longer uses the chunk: the server drops it
 *                 if its MetaStore agrees (the inode is gone or its layout does not name the key); answered by OK
 * PULL       c→s  reqId:i64 ino:i64 key[16]                 keep a replica: the server fetches the scratch chunk from the
 *                 client's node (HELD) and keeps it pinned; answered by OK once stored
 * EVICT      c→s  as GET                                    drop the cached chunk (not a scratch one); answered by OK
 * KEEP       c→s  as GET                                    load the chunk if missing and keep it resident for the pin
 *                                                            covering its path; answered by OK, or ERROR when not kept
 * LOAD       c→s  as GET                                    load the chunk into the server's cache if missing; answered by
 *                                                            OK once there (warmup --cluster: no bytes to the client)
 * OK         s→c  reqId:i64
 * CHUNK      s→c  reqId:i64 length:i32 blocks:i32 crc32c[blocks]:i32 body[length] (sha256[32] without TLS)
 * ERROR      s→c  reqId:i64 msgLen:u16 msg                   msg "draining: …": the server is being drained, ask
 *                                                            the next owner (and rank it last for a while)
 * META_GET   c→s  reqId:i64 kind:u8 pathLen:u16 path        kind: see MetaCodec
 * META       s→c  reqId:i64 status:u8 answer                 status 0 ok, 1 no such file, 2 not a directory,
 *                                                            3 too large (no answer: ask the backend), 4 more: the
 *                                                            answer's next bytes; more frames of the request follow,
 *                                                            the last one status 0 (an answer longer than 1 MiB)
 * </pre>
 * Nothing but CHALLENGE/AUTH passes before authentication; a frame of another version,
 * an unknown type or one longer than the receiver's bound closes the connection. Without
 * TLS, every frame after AUTH_OK (both ways) ends in a 16-byte tag that the length counts:
 * HMAC-SHA256 under the direction's session key of the frame's sequence number and its
 * bytes, a CHUNK body by its SHA-256, which follows the body ({@link FrameSeal}). With TLS
 * there is no tag: TLS authenticates (and encrypts) every byte.
 */
final class Frames {
    /** 3: a CHUNK body's digest is sent after it (2: the receiver computed it for the tag). */
    static final byte VERSION = 3;
    /** How the ERROR answer of a node being drained begins. */
    static final String DRAINING = io.peerfs.peer.PeerService.DRAINING;
    static final byte CHALLENGE = 1;
    static final byte AUTH = 2;
    static final byte AUTH_OK = 3;
    static final byte GET = 10;
    static final byte CHUNK = 11;
    static final byte HELD = 13;
    static final byte FREE = 14;
    static final byte OK = 15;
    static final byte PULL = 16;
    static final byte EVICT = 17;
    static final byte KEEP = 18;
    static final byte LOAD = 19;
    static final byte ERROR = 12;
    static final byte META_GET = 20;
    static final byte META = 21;
    static final int NONCE = 32;
    static final int MAC = 32;
    /** Longest frame a server accepts: requests are small. */
    static final int MAX_REQUEST = 16 * 1024;

    private Frames() {
    }

    /** Longest frame a client accepts: a whole chunk with its checksums, for clusters of {@code maxChunk}. */
    static int maxAnswer(int maxChunk) {
        return 64 + FrameSeal.DIGEST + FrameSeal.TAG + 4 * (maxChunk / ChunkStore.CHECKSUM_BLOCK + 1) + maxChunk;
    }

    /** A frame with its length field and header written; the caller appends the fields. */
    static ByteBuf start(ByteBufAllocator alloc, byte type, int bodyLength) {
        ByteBuf b = alloc.buffer(4 + 2 + bodyLength);
        b.writeInt(2 + bodyLength).writeByte(VERSION).writeByte(type);
        return b;
    }

    /** Header of a CHUNK frame whose {@code length} body bytes follow separately. */
    static ByteBuf chunkHeader(ByteBufAllocator alloc, long reqId, int length, int[] crcs) {
        int fields = 8 + 4 + 4 + 4 * crcs.length;
        ByteBuf b = alloc.buffer(4 + 2 + fields);
        b.writeInt(2 + fields + length).writeByte(VERSION).writeByte(CHUNK);
        b.writeLong(reqId).writeInt(length).writeInt(crcs.length);
        for (int c : crcs) {
            b.writeInt(c);
        }
        return b;
    }

    /**
     * The first block of a CHUNK frame's body that fails its CRC32C, or -1 when every block
     * passes. {@code fields} is the index of the frame's reqId; the body ends at index
     * {@code end}. Checked in place (the frame is a view of the buffers the socket filled).
     * A frame whose fields do not fit counts as failing at block 0.
     */
    static int firstBadBlock(ByteBuf frame, int fields, int end) {
        int length = frame.getInt(fields + 8);
        int blocks = frame.getInt(fields + 8 + 4);
        int body = fields + 8 + 4 + 4 + 4 * blocks;
        if (length < 0 || blocks != (length + ChunkStore.CHECKSUM_BLOCK - 1) / ChunkStore.CHECKSUM_BLOCK
                || end - (long) body != length) {
            return 0;
        }
        for (int i = 0; i < blocks; i++) {
            int from = i * ChunkStore.CHECKSUM_BLOCK;
            java.util.zip.CRC32C c = new java.util.zip.CRC32C();
            for (java.nio.ByteBuffer part : frame.nioBuffers(body + from, Math.min(ChunkStore.CHECKSUM_BLOCK,
                    length - from))) {
                c.update(part);
            }
            if ((int) c.getValue() != frame.getInt(fields + 8 + 4 + 4 + 4 * i)) {
                return i;
            }
        }
        return -1;
    }

    static ByteBuf error(ByteBufAllocator alloc, long reqId, String message) {
        byte[] m = truncate(message);
        ByteBuf b = start(alloc, ERROR, 8 + 2 + m.length);
        return b.writeLong(reqId).writeShort(m.length).writeBytes(m);
    }

    static byte[] truncate(String s) {
        byte[] b = String.valueOf(s).getBytes(StandardCharsets.UTF_8);
        return b.length <= 1024 ? b : java.util.Arrays.copyOf(b, 1024);
    }

    static byte[] mac(byte[] secret, String label, byte[]... parts) {
        Mac m = hmac(secret);
        m.update(label.getBytes(StandardCharsets.US_ASCII));
        for (byte[] p : parts) {
            m.update(p);
        }
        return m.doFinal();
    }

    /** An HMAC-SHA256 under {@code key}, ready for its first update. */
    static Mac hmac(byte[] key) {
        try {
            Mac m = Mac.getInstance("HmacSHA256");
            m.init(new SecretKeySpec(key, "HmacSHA256"));
            return m;
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 is part of every JDK", e);
        }
    }

    /**
     * The key that authenticates the frames one way after the handshake ({@link FrameSeal}):
     * fresh for every connection, since both nonces go in.
     */
    static byte[] sessionKey(byte[] secret, boolean clientToServer, byte[] serverNonce, byte[] clientNonce,
                             byte[] nodeId) {
        return mac(secret, clientToServer ? "peerfs-v2 frames c2s" : "peerfs-v2 frames s2c", serverNonce, clientNonce,
                nodeId);
    }

    /** Reads the version and type of a frame (after the length field); null when the version is not ours. */
    static Byte type(ByteBuf frame) {
        if (frame.readableBytes() < 2 || frame.readByte() != VERSION) {
            return null;
        }
        return frame.readByte();
    }
}

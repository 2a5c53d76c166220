package io.peerfs.chunk.disk;

import java.nio.ByteBuffer;
import java.util.zip.CRC32C;

/**
 * What the index knows of one stored chunk: its length, CRC32C of the whole chunk and of
 * each {@value #BLOCK_SIZE}-byte block (so a small read verifies only the blocks it
 * touches), whether it is pinned, when it was last read, and for a scratch chunk the inode
 * it was stored for ({@code owner}, 0 for none): a peer's FREE must name that inode; and
 * its SHA-256 once a peer was sent it ({@code sha256}, null until then), so it is digested
 * once however many peers ask.
 */
record ChunkMeta(int length, int crc, int[] blockCrcs, boolean pinned, long lastAccessMs, long owner, byte[] sha256) {
    static final int BLOCK_SIZE = io.peerfs.chunk.ChunkStore.CHECKSUM_BLOCK;
    /**
     * Version 3 adds the SHA-256 (written only for a record that has one, so a record without
     * stays readable by the version before); version 2 added the owner; 1 is still read.
     */
    private static final byte VERSION_3 = 3;
    private static final byte VERSION = 2;
    private static final byte VERSION_1 = 1;
    private static final int SHA256 = 32;

    ChunkMeta(int length, int crc, int[] blockCrcs, boolean pinned, long lastAccessMs, long owner) {
        this(length, crc, blockCrcs, pinned, lastAccessMs, owner, null);
    }

    /** Checksums the remaining bytes of {@code data} without moving its position. */
    static ChunkMeta describe(ByteBuffer data, boolean pinned, long nowMs, long owner) {
        int length = data.remaining();
        int blocks = (length + BLOCK_SIZE - 1) / BLOCK_SIZE;
        int[] blockCrcs = new int[blocks];
        for (int b = 0; b < blocks; b++) {
            int from = data.position() + b * BLOCK_SIZE;
            blockCrcs[b] = crc(data.slice(from, Math.min(BLOCK_SIZE, data.limit() - from)));
        }
        return new ChunkMeta(length, crc(data.duplicate()), blockCrcs, pinned, nowMs, owner);
    }

    static int crc(ByteBuffer bytes) {
        CRC32C c = new CRC32C();
        c.update(bytes);
        return (int) c.getValue();
    }

    int blockLength(int block) {
        return Math.min(BLOCK_SIZE, length - block * BLOCK_SIZE);
    }

    ChunkMeta withLastAccess(long ms) {
        return new ChunkMeta(length, crc, blockCrcs, pinned, ms, owner, sha256);
    }

    ChunkMeta withSha256(byte[] digest) {
        return new ChunkMeta(length, crc, blockCrcs, pinned, lastAccessMs, owner, digest.clone());
    }

    /** Whether {@code other} describes the same bytes (same length and checksums). */
    boolean sameBytesAs(int otherLength, int[] otherBlockCrcs) {
        return length == otherLength && java.util.Arrays.equals(blockCrcs, otherBlockCrcs);
    }

    byte[] encode() {
        ByteBuffer b = ByteBuffer.allocate(1 + 1 + 4 + 4 + 8 + 4 + 4 * blockCrcs.length + 8
                + (sha256 == null ? 0 : SHA256));
        b.put(sha256 == null ? VERSION : VERSION_3).put((byte) (pinned ? 1 : 0)).putInt(length).putInt(crc).putLong(lastAccessMs);
        b.putInt(blockCrcs.length);
        for (int c : blockCrcs) {
            b.putInt(c);
        }
        b.putLong(owner);
        if (sha256 != null) {
            b.put(sha256);
        }
        return b.array();
    }

    /** Decodes {@link #encode()}'s form; returns null for a record of an unknown version or shape. */
    static ChunkMeta decode(byte[] bytes) {
        ByteBuffer b = ByteBuffer.wrap(bytes);
        byte version = bytes.length < 22 ? 0 : b.get();
        if (version != VERSION_3 && version != VERSION && version != VERSION_1) {
            return null;
        }
        int tail = version == VERSION_3 ? 8 + SHA256 : version == VERSION ? 8 : 0;
        boolean pinned = b.get() == 1;
        int length = b.getInt();
        int crc = b.getInt();
        long lastAccess = b.getLong();
        int n = b.getInt();
        if (n != (length + BLOCK_SIZE - 1) / BLOCK_SIZE || b.remaining() != 4 * n + tail) {
            return null;
        }
        int[] blockCrcs = new int[n];
        for (int i = 0; i < n; i++) {
            blockCrcs[i] = b.getInt();
        }
        long owner = tail > 0 ? b.getLong() : 0;
        byte[] sha256 = null;
        if (version == VERSION_3) {
            sha256 = new byte[SHA256];
            b.get(sha256);
        }
        return new ChunkMeta(length, crc, blockCrcs, pinned, lastAccess, owner, sha256);
    }
}

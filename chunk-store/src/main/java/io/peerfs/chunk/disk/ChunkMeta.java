package io.peerfs.chunk.disk;

import java.nio.ByteBuffer;
import java.util.zip.CRC32C;

/**
 * What the index knows of one stored chunk: its length, CRC32C of the whole chunk and of
 * each {@value #BLOCK_SIZE}-byte block (so a small read verifies only the blocks it
 * touches), whether it is pinned, when it was last read, and for a scratch chunk the inode
 * it was stored for ({@code owner}, 0 for none): a peer's FREE must name that inode; and
 * its SHA-256 once a peer was sent it ({@code sha256}, null until then), so it is digested
 * once however many peers ask; and for a resident chunk the pin that keeps it ({@code group},
 * {@link #group(String)}; 0 for none).
 */
record ChunkMeta(int length, int crc, int[] blockCrcs, boolean pinned, long lastAccessMs, long owner, byte[] sha256,
                 long group) {
    static final int BLOCK_SIZE = io.peerfs.chunk.ChunkStore.CHECKSUM_BLOCK;
    /**
     * Version 4 adds the group (written only for a resident chunk, so other records stay
     * readable by the versions before); version 3 added the SHA-256 (written only for a record
     * that has one), version 2 the owner; 1 is still read.
     */
    private static final byte VERSION_4 = 4;
    private static final byte VERSION_3 = 3;
    private static final byte VERSION = 2;
    private static final byte VERSION_1 = 1;
    private static final int SHA256 = 32;

    ChunkMeta(int length, int crc, int[] blockCrcs, boolean pinned, long lastAccessMs, long owner) {
        this(length, crc, blockCrcs, pinned, lastAccessMs, owner, null, 0);
    }

    /** The group of pin {@code pin} (a backend path): 64 bits of its SHA-256, never 0. */
    static long group(String pin) {
        byte[] d;
        try {
            d = java.security.MessageDigest.getInstance("SHA-256").digest(pin.getBytes(java.nio.charset.StandardCharsets.UTF_8));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException("JDK without SHA-256", e);
        }
        long g = ByteBuffer.wrap(d).getLong();
        return g == 0 ? 1 : g;
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
        return new ChunkMeta(length, crc, blockCrcs, pinned, ms, owner, sha256, group);
    }

    ChunkMeta withSha256(byte[] digest) {
        return new ChunkMeta(length, crc, blockCrcs, pinned, lastAccessMs, owner, digest.clone(), group);
    }

    ChunkMeta withGroup(long g) {
        return new ChunkMeta(length, crc, blockCrcs, pinned, lastAccessMs, owner, sha256, g);
    }

    /** Whether {@code other} describes the same bytes (same length and checksums). */
    boolean sameBytesAs(int otherLength, int[] otherBlockCrcs) {
        return length == otherLength && java.util.Arrays.equals(blockCrcs, otherBlockCrcs);
    }

    byte[] encode() {
        ByteBuffer b = ByteBuffer.allocate(1 + 1 + 4 + 4 + 8 + 4 + 4 * blockCrcs.length + 8
                + (group == 0 ? 0 : 8) + (sha256 == null ? 0 : SHA256));
        byte version = group != 0 ? VERSION_4 : sha256 != null ? VERSION_3 : VERSION;
        b.put(version).put((byte) (pinned ? 1 : 0)).putInt(length).putInt(crc).putLong(lastAccessMs);
        b.putInt(blockCrcs.length);
        for (int c : blockCrcs) {
            b.putInt(c);
        }
        b.putLong(owner);
        if (group != 0) {
            b.putLong(group);
        }
        if (sha256 != null) {
            b.put(sha256);
        }
        return b.array();
    }

    /** Decodes {@link #encode()}'s form; returns null for a record of an unknown version or shape. */
    static ChunkMeta decode(byte[] bytes) {
        ByteBuffer b = ByteBuffer.wrap(bytes);
        byte version = bytes.length < 22 ? 0 : b.get();
        if (version != VERSION_4 && version != VERSION_3 && version != VERSION && version != VERSION_1) {
            return null;
        }
        boolean pinned = b.get() == 1;
        int length = b.getInt();
        int crc = b.getInt();
        long lastAccess = b.getLong();
        int n = b.getInt();
        int tail = b.remaining() - 4 * n; // version 4: owner, group and maybe the digest
        boolean hasSha = version == VERSION_3 || version == VERSION_4 && tail == 8 + 8 + SHA256;
        int want = switch (version) {
            case VERSION_4 -> 8 + 8 + (hasSha ? SHA256 : 0);
            case VERSION_3 -> 8 + SHA256;
            case VERSION -> 8;
            default -> 0;
        };
        if (n != (length + BLOCK_SIZE - 1) / BLOCK_SIZE || tail != want) {
            return null;
        }
        int[] blockCrcs = new int[n];
        for (int i = 0; i < n; i++) {
            blockCrcs[i] = b.getInt();
        }
        long owner = want > 0 ? b.getLong() : 0;
        long group = version == VERSION_4 ? b.getLong() : 0;
        byte[] sha256 = null;
        if (hasSha) {
            sha256 = new byte[SHA256];
            b.get(sha256);
        }
        return new ChunkMeta(length, crc, blockCrcs, pinned, lastAccess, owner, sha256, group);
    }
}

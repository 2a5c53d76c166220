package io.peerfs.chunk;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * Content address of one chunk: 128 bits of a SHA-256 over what identifies the chunk's
 * bytes. A backend file that changes (size or mtime) gets new keys, so stale chunks are
 * never served and simply age out of the cache.
 */
public record ChunkKey(long hi, long lo) {
    private static final HexFormat HEX = HexFormat.of();

    /** Key of chunk {@code index} of a backend file at {@code relPath} with the given size and mtime. */
    public static ChunkKey forBackendFile(String relPath, long size, long mtimeNs, long index) {
        MessageDigest sha = sha256();
        sha.update((byte) 'B');
        sha.update(relPath.getBytes(StandardCharsets.UTF_8));
        sha.update((byte) 0);
        updateLong(sha, size);
        updateLong(sha, mtimeNs);
        updateLong(sha, index);
        return fromDigest(sha.digest());
    }

    /** Key of chunk {@code index} of a scratch file (file id from the MetaStore, write generation). */
    public static ChunkKey forScratchFile(long fileId, long generation, long index) {
        return forScratchFile(fileId, generation, index, null);
    }

    /**
     * Key of chunk {@code index} of a scratch file sealed by node {@code writer} (null on a
     * node of its own): two nodes writing one file at once never make one key for two contents.
     */
    public static ChunkKey forScratchFile(long fileId, long generation, long index, String writer) {
        MessageDigest sha = sha256();
        sha.update((byte) 'S');
        updateLong(sha, fileId);
        updateLong(sha, generation);
        updateLong(sha, index);
        if (writer != null) {
            sha.update(writer.getBytes(StandardCharsets.UTF_8));
        }
        return fromDigest(sha.digest());
    }

    /** Parses the 32-character hex form produced by {@link #hex()}. */
    public static ChunkKey parse(String hex) {
        if (hex.length() != 32) {
            throw new IllegalArgumentException("not a chunk key: " + hex);
        }
        return new ChunkKey(HexFormat.fromHexDigitsToLong(hex, 0, 16), HexFormat.fromHexDigitsToLong(hex, 16, 32));
    }

    public static ChunkKey fromBytes(byte[] b) {
        return new ChunkKey(readLong(b, 0), readLong(b, 8));
    }

    public byte[] toBytes() {
        byte[] b = new byte[16];
        for (int i = 0; i < 8; i++) {
            b[i] = (byte) (hi >>> (56 - 8 * i));
            b[8 + i] = (byte) (lo >>> (56 - 8 * i));
        }
        return b;
    }

    public String hex() {
        return HEX.toHexDigits(hi) + HEX.toHexDigits(lo);
    }

    @Override
    public String toString() {
        return hex();
    }

    private static ChunkKey fromDigest(byte[] d) {
        return new ChunkKey(readLong(d, 0), readLong(d, 8));
    }

    private static long readLong(byte[] b, int off) {
        long v = 0;
        for (int i = 0; i < 8; i++) {
            v = (v << 8) | (b[off + i] & 0xff);
        }
        return v;
    }

    private static void updateLong(MessageDigest sha, long v) {
        for (int i = 56; i >= 0; i -= 8) {
            sha.update((byte) (v >>> i));
        }
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("JDK without SHA-256", e);
        }
    }
}

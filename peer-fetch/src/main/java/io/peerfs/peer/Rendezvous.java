package io.peerfs.peer;

import io.peerfs.chunk.ChunkKey;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;

/**
 * Rendezvous (highest-random-weight) hashing: every node ranks the members for a chunk key
 * the same way, the first is the chunk's owner and the rest are the failover order. A member
 * joining or leaving moves only the chunks it wins or owned.
 */
public final class Rendezvous {
    private Rendezvous() {
    }

    /** Members (peer addresses) ordered by weight for {@code key}, highest first. */
    public static List<String> order(ChunkKey key, Collection<String> members) {
        List<String> out = new ArrayList<>(members);
        out.sort(Comparator.comparingLong((String m) -> weight(key, m)).reversed().thenComparing(m -> m));
        return out;
    }

    /** Members ordered for a key that is not a chunk (a directory, for metadata). */
    public static List<String> order(String key, Collection<String> members) {
        long h = hash(key);
        return order(new ChunkKey(h, mix(h ^ 0x9e3779b97f4a7c15L)), members);
    }

    static long weight(ChunkKey key, String member) {
        return mix(key.hi() ^ mix(key.lo() ^ hash(member)));
    }

    /** FNV-1a over the UTF-8 bytes, then mixed: stable across JVMs and nodes. */
    private static long hash(String s) {
        long h = 0xcbf29ce484222325L;
        for (byte b : s.getBytes(StandardCharsets.UTF_8)) {
            h = (h ^ (b & 0xff)) * 0x100000001b3L;
        }
        return mix(h);
    }

    /** The splitmix64 finaliser. */
    private static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xbf58476d1ce4e5b9L;
        z = (z ^ (z >>> 27)) * 0x94d049bb133111ebL;
        return z ^ (z >>> 31);
    }
}

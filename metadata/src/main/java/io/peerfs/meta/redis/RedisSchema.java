package io.peerfs.meta.redis;

import io.peerfs.meta.Inode;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/**
 * How {@link RedisMetaStore} lays the metadata out in Redis: its keys, their encodings, and
 * the server-side scripts that read and change them in one round trip. Keys, all under
 * {@code peerfs:}:
 * <pre>
 * next          counter of inode numbers (INCR)
 * i:INO         inode record ({@link Inode#encode()})
 * d:DIR         hash: name → ino (8 bytes) + type ('d' directory, 'f' anything else)
 * w:NODE        hash: ino → readiness byte + backend path (NODE's writeback journal)
 * o:NODE        set of inodes whose last name NODE removed (its orphans to collect)
 * u:NODE        set of inodes NODE has open; expires {@link #OPEN_TTL_SECONDS} after NODE's last
 *               heartbeat or open, so the files a dead node had open are let go
 * n             set of the node ids that may have open files (pruned as their u: sets go)
 * t             set of result-tagged paths
 * p             set of paths pinned in caches ({@code peerfs cache pin})
 * ds            set of read-mostly dataset paths ({@code peerfs tag --dataset})
 * m             hash: node id → heartbeat ms (8 bytes) + peer address
 * c             hash: cluster settings every mount must agree on
 * </pre>
 */
final class RedisSchema {
    static final String PREFIX = "peerfs:";
    private static final byte DIR = 'd';
    private static final byte OTHER = 'f';
    /** How long the open files of a node that stopped heart-beating (it died) keep their data. */
    static final long OPEN_TTL_SECONDS = 60;
    /** Records inode ARGV[1] as open in the set KEYS[1] of node ARGV[3], with its expiry ARGV[2]. */
    static final LuaScript OPENED = new LuaScript("""
            redis.call('SADD', KEYS[1], ARGV[1])
            redis.call('EXPIRE', KEYS[1], ARGV[2])
            redis.call('SADD', KEYS[2], ARGV[3])
            return 1""");
    /**
     * Whether a node other than ARGV[1] has inode ARGV[3] open: its key is ARGV[2] .. node id.
     * A node whose set is gone (nothing open, or it stopped heart-beating) leaves the node list
     * KEYS[1]; its next open puts it back ({@link #OPENED} is atomic, so none is missed).
     */
    static final LuaScript OPEN_ELSEWHERE = new LuaScript("""
            local found = 0
            for _, node in ipairs(redis.call('SMEMBERS', KEYS[1])) do
              if node ~= ARGV[1] then
                local open = ARGV[2] .. node
                if redis.call('EXISTS', open) == 0 then
                  redis.call('SREM', KEYS[1], node)
                elseif redis.call('SISMEMBER', open, ARGV[3]) == 1 then
                  found = 1
                end
              end
            end
            return found""");
    /**
     * Sets KEYS[1] to ARGV[2] if it holds ARGV[1] and answers an empty string; else answers what
     * it holds (nil: nothing). A record is never empty, so the answers cannot be mistaken.
     */
    static final LuaScript SWAP = new LuaScript("""
            local now = redis.call('GET', KEYS[1])
            if now == ARGV[1] then
              redis.call('SET', KEYS[1], ARGV[2])
              return ''
            end
            return now""");
    /** Takes inode ARGV[1] out of the open set KEYS[1] and returns its record KEYS[2]: one round trip. */
    static final LuaScript CLOSED = new LuaScript("""
            redis.call('SREM', KEYS[1], ARGV[1])
            return redis.call('GET', KEYS[2])""");
    /**
     * The start of a script that finds the entry ARGV[1] in the directory hash KEYS[1] (nil
     * when there is none): its first 8 bytes are the inode number (big-endian), {@code id} its
     * decimal form, and the record is ARGV[2] .. id.
     */
    private static final String FIND_ENTRY = """
            local d = redis.call('HGET', KEYS[1], ARGV[1])
            if not d then
              return false
            end
            local ino = 0
            for i = 1, 8 do
              ino = ino * 256 + string.byte(d, i)
            end
            local id = string.format('%.0f', ino)
            """;
    /** The inode record named ARGV[1] in the directory hash KEYS[1], or nil (see {@link #FIND_ENTRY}). */
    static final LuaScript LOOKUP = new LuaScript(FIND_ENTRY + "return redis.call('GET', ARGV[2] .. id)");
    /**
     * {@link #LOOKUP}, and the inode found recorded as open as {@link #OPENED} does: in the set
     * KEYS[2] of node ARGV[4] (node list KEYS[3]), with its expiry ARGV[3].
     */
    static final LuaScript LOOKUP_TO_OPEN = new LuaScript(FIND_ENTRY + """
            local r = redis.call('GET', ARGV[2] .. id)
            if r then
              redis.call('SADD', KEYS[2], id)
              redis.call('EXPIRE', KEYS[2], ARGV[3])
              redis.call('SADD', KEYS[3], ARGV[4])
            end
            return r""");

    static byte[] key(String s) {
        return (PREFIX + s).getBytes(StandardCharsets.UTF_8);
    }

    static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    static byte[] inoKey(long ino) {
        return key("i:" + ino);
    }

    static byte[] dirKey(String dir) {
        return key("d:" + dir);
    }

    static byte[] journalKey(String node) {
        return key("w:" + node);
    }

    static byte[] orphansKey(String node) {
        return key("o:" + node);
    }

    static byte[] openKey(String node) {
        return key("u:" + node);
    }

    static String parentOf(String path) {
        int slash = path.lastIndexOf('/');
        return slash < 0 ? "" : path.substring(0, slash);
    }

    static String nameOf(String path) {
        return path.substring(path.lastIndexOf('/') + 1);
    }

    static byte[] dentry(long ino, boolean directory) {
        return ByteBuffer.allocate(9).putLong(ino).put(directory ? DIR : OTHER).array();
    }

    static long dentryIno(byte[] v) {
        return ByteBuffer.wrap(v).getLong();
    }

    static boolean dentryIsDir(byte[] v) {
        return v.length > 8 && v[8] == DIR;
    }

    private RedisSchema() {
    }
}

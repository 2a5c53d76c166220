package io.peerfs.meta.redis;

import static io.peerfs.meta.redis.RedisSchema.key;
import static io.peerfs.meta.redis.RedisSchema.utf8;

import io.peerfs.meta.PathTag;
import io.peerfs.meta.TagStore;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Set;
import java.util.TreeSet;

/** Tagged paths in Redis, one set per kind, shared by the cluster. */
final class RedisTags implements TagStore {
    private final RedisCalls db;

    RedisTags(RedisCalls db) {
        this.db = db;
    }

    @Override
    public void tag(PathTag kind, String path, boolean on) throws IOException {
        byte[] set = tagSet(kind);
        db.change("tag", path, () -> on ? db.redis.sadd(set, utf8(path)) : db.redis.srem(set, utf8(path)));
    }

    /** The set of a kind's tagged paths. */
    private byte[] tagSet(PathTag kind) {
        return key(switch (kind) {
            case RESULT -> "t";
            case PIN -> "p";
            case DATASET -> "ds";
        });
    }

    @Override
    public Set<String> tagged(PathTag kind) throws IOException {
        return db.call("read", "tags", () -> {
            Set<String> out = new TreeSet<>();
            for (byte[] p : db.redis.smembers(tagSet(kind))) {
                out.add(new String(p, StandardCharsets.UTF_8));
            }
            return out;
        });
    }
}

package io.peerfs.meta.redis;

import static io.peerfs.meta.redis.RedisSchema.OPEN_TTL_SECONDS;
import static io.peerfs.meta.redis.RedisSchema.key;
import static io.peerfs.meta.redis.RedisSchema.openKey;
import static io.peerfs.meta.redis.RedisSchema.utf8;

import io.peerfs.PeerFsException;
import io.peerfs.meta.Member;
import io.peerfs.meta.MemberRegistry;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** The cluster's members and shared settings in Redis ({@code m}, {@code c}). */
final class RedisMembers implements MemberRegistry {
    private final RedisCalls db;
    private final String where;

    RedisMembers(RedisCalls db) {
        this.db = db;
        this.where = db.where;
    }

    /**
     * Records a cluster setting the first time a mount names it, and refuses a mount whose
     * value differs from what the cluster recorded.
     */
    @Override
    public void agree(String setting, String value, String describe) throws IOException {
        db.change("record cluster setting", setting, () -> {
            byte[] k = key("c");
            db.redis.hsetnx(k, utf8(setting), utf8(value));
            byte[] recorded = db.redis.hget(k, utf8(setting));
            if (recorded != null && !value.equals(new String(recorded, StandardCharsets.UTF_8))) {
                throw new ClusterMismatchException(where, setting, describe);
            }
            return null;
        });
    }

    /** This mount disagrees with a setting the cluster recorded. */
    public static final class ClusterMismatchException extends PeerFsException {
        ClusterMismatchException(String where, String setting, String describe) {
            super("the cluster in " + where + " was created with a different " + setting + " than this mount's ("
                    + describe + "): every node of one cluster must use the same value");
        }
    }

    @Override
    public void heartbeat(Member member) throws IOException {
        byte[] addr = utf8(member.address());
        db.change("register member", member.nodeId(), () -> {
            db.redis.expire(openKey(member.nodeId()), OPEN_TTL_SECONDS); // the files it has open are still open
            return db.redis.hset(key("m"), utf8(member.nodeId()),
                    ByteBuffer.allocate(8 + addr.length).putLong(member.heartbeatMs()).put(addr).array());
        });
    }

    @Override
    public List<Member> members() throws IOException {
        return db.call("read", "members", () -> {
            List<Member> out = new ArrayList<>();
            for (Map.Entry<byte[], byte[]> e : db.redis.hgetall(key("m")).entrySet()) {
                byte[] v = e.getValue();
                out.add(new Member(new String(e.getKey(), StandardCharsets.UTF_8),
                        new String(v, 8, v.length - 8, StandardCharsets.UTF_8), ByteBuffer.wrap(v).getLong()));
            }
            out.sort(java.util.Comparator.comparing(Member::nodeId));
            return out;
        });
    }

    @Override
    public void leave(String node) throws IOException {
        db.change("remove member", node, () -> db.redis.hdel(key("m"), utf8(node)));
    }
}

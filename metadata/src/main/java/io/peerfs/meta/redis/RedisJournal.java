package io.peerfs.meta.redis;

import static io.peerfs.meta.redis.RedisSchema.inoKey;
import static io.peerfs.meta.redis.RedisSchema.journalKey;
import static io.peerfs.meta.redis.RedisSchema.key;
import static io.peerfs.meta.redis.RedisSchema.orphansKey;
import static io.peerfs.meta.redis.RedisSchema.utf8;

import io.peerfs.meta.Inode;
import io.peerfs.meta.NamespaceRules;
import io.peerfs.meta.StagedFile;
import io.peerfs.meta.WritebackJournal;
import io.peerfs.meta.redis.RedisTransactions.Plan;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.NoSuchFileException;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.function.UnaryOperator;

/** This node's writeback journal in Redis: a hash of staged inode number to backend path ({@code j:NODE}). */
final class RedisJournal implements WritebackJournal {
    private final RedisCalls db;
    private final String nodeId;

    RedisJournal(RedisCalls db) {
        this.db = db;
        this.nodeId = db.nodeId;
    }

    @Override
    public Inode stage(String target, Inode spec, StagedFile.Writer writer) throws IOException {
        return db.transaction("stage", target, c -> {
            long ino = c.incr(key("next")).get();
            Inode inode = NamespaceRules.staged(spec, ino);
            return new Plan<>(inode, w -> {
                w.set(inoKey(ino), inode.encode());
                w.hset(journalKey(nodeId), utf8(Long.toString(ino)), new StagedFile(target, false, writer).encode());
            });
        });
    }

    /** Rewrites one journal entry. */
    private void rewriteJournal(long ino, String op, UnaryOperator<StagedFile> change) throws IOException {
        byte[] field = utf8(Long.toString(ino));
        db.transaction(op, Long.toString(ino), c -> {
            c.watch(journalKey(nodeId));
            byte[] v = c.hget(journalKey(nodeId), Long.toString(ino)).get();
            if (v == null) {
                throw new NoSuchFileException("staged inode " + ino);
            }
            StagedFile now = change.apply(StagedFile.decode(v));
            return new Plan<>(null, w -> w.hset(journalKey(nodeId), field, now.encode()));
        });
    }

    @Override
    public void restage(long ino, String target) throws IOException {
        rewriteJournal(ino, "restage", s -> s.withPath(target));
    }

    @Override
    public void readyToUpload(long ino) throws IOException {
        rewriteJournal(ino, "mark ready", StagedFile::asReady);
    }

    @Override
    public Inode unstage(long ino) throws IOException {
        return db.transaction("unstage", Long.toString(ino), c -> {
            c.watch(inoKey(ino));
            Inode inode = RedisMetaStore.decoded(c.get(inoKey(ino)).get()).orElseThrow(() -> new NoSuchFileException("staged inode "
                    + ino));
            Inode unlinked = inode.withNlink(0, inode.ctimeNs());
            return new Plan<>(unlinked, w -> {
                w.hdel(journalKey(nodeId), utf8(Long.toString(ino)));
                w.set(inoKey(ino), unlinked.encode());
                w.sadd(orphansKey(nodeId), utf8(Long.toString(ino)));
            });
        });
    }

    @Override
    public SortedMap<Long, StagedFile> staged() throws IOException {
        return db.call("read", "the writeback journal", () -> {
            SortedMap<Long, StagedFile> out = new TreeMap<>();
            for (Map.Entry<byte[], byte[]> e : db.redis.hgetall(journalKey(nodeId)).entrySet()) {
                out.put(Long.parseLong(new String(e.getKey(), StandardCharsets.UTF_8)), StagedFile.decode(e.getValue()));
            }
            return out;
        });
    }
}

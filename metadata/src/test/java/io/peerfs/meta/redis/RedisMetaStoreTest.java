package io.peerfs.meta.redis;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.peerfs.PeerFsException;
import io.peerfs.meta.FileType;
import io.peerfs.meta.Inode;
import io.peerfs.meta.MetaStore;
import io.peerfs.meta.MetaStoreContract;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The contract on a real redis-server, plus what only a shared engine has to show. */
class RedisMetaStoreTest extends MetaStoreContract {
    private static final Duration TIMEOUT = Duration.ofSeconds(2);
    private static final AtomicInteger DB = new AtomicInteger();
    @TempDir
    static Path dir;
    static RedisServer redis;
    private int db;

    @BeforeAll
    static void startRedis() throws Exception {
        redis = RedisServer.start(dir.resolve("redis"));
    }

    @AfterAll
    static void stopRedis() throws Exception {
        redis.close();
    }

    @Override
    protected MetaStore open() throws Exception {
        db = DB.incrementAndGet() % 16; // a fresh database per test (16 by default)
        MetaStore s = RedisMetaStore.open(redis.url(db), "node-a", TIMEOUT);
        io.lettuce.core.RedisClient client = io.lettuce.core.RedisClient.create(redis.url(db));
        try (var c = client.connect()) {
            c.sync().flushdb();
        } finally {
            client.shutdown();
        }
        return s;
    }

    @Override
    protected MetaStore reopen(MetaStore old) throws Exception {
        old.close();
        return RedisMetaStore.open(redis.url(db), "node-a", TIMEOUT);
    }

    private static Inode file() {
        return Inode.fresh(0, FileType.FILE, 0644, 0, 0, null, 1);
    }

    @Test
    void aBadUrlIsReportedWithoutItsPassword() {
        io.peerfs.PeerFsException e = org.junit.jupiter.api.Assertions.assertThrows(io.peerfs.PeerFsException.class,
                () -> RedisMetaStore.open("redis://:s3cret-pw@127.0.0.1:6379/notadb", "node-a", TIMEOUT));
        org.junit.jupiter.api.Assertions.assertTrue(e.getMessage().contains("is not a Redis URL"), e.getMessage());
        org.junit.jupiter.api.Assertions.assertFalse(e.getMessage().contains("s3cret-pw"), e.getMessage());
    }

    @Test
    void aFileOpenOnOneNodeIsOpenElsewhereForTheOthersUntilItsLastCloseThere() throws Exception {
        try (MetaStore other = RedisMetaStore.open(redis.url(db), "node-b", TIMEOUT)) {
            long ino = store.create("f", file()).ino();
            long ino2 = store.create("g", file()).ino();
            assertFalse(other.openElsewhere(ino));
            store.opened(ino);
            assertTrue(other.openElsewhere(ino));
            assertFalse(other.openElsewhere(ino2), "another inode");
            assertFalse(store.openElsewhere(ino), "its own opens are not elsewhere");
            other.opened(ino);
            store.closed(ino);
            assertTrue(store.openElsewhere(ino), "node-b has it open still");
            assertFalse(other.openElsewhere(ino));
            other.closed(ino);
            assertFalse(store.openElsewhere(ino));

            store.opened(ino);
            store.noneOpen(); // node-a started again
            assertFalse(other.openElsewhere(ino));

            store.opened(ino);
            io.lettuce.core.RedisClient client = io.lettuce.core.RedisClient.create(redis.url(db));
            try (var c = client.connect()) {
                long ttl = c.sync().ttl("peerfs:u:node-a");
                assertTrue(ttl > 0 && ttl <= RedisSchema.OPEN_TTL_SECONDS,
                        "the open files of a node that dies are let go: ttl " + ttl);
                c.sync().persist("peerfs:u:node-a");
                store.heartbeat(new io.peerfs.meta.Member("node-a", "127.0.0.1:1", 1));
                ttl = c.sync().ttl("peerfs:u:node-a");
                assertTrue(ttl > 0 && ttl <= RedisSchema.OPEN_TTL_SECONDS, "each heartbeat sets it again: " + ttl);
            } finally {
                client.shutdown();
            }
        }
    }

    @Test
    void aLookupToOpenRecordsTheOpenOfWhatItFindsOnly() throws Exception {
        store.create("d", Inode.fresh(0, FileType.DIRECTORY, 0755, 0, 0, null, 1));
        Inode f = store.create("d/f", file());
        try (MetaStore other = RedisMetaStore.open(redis.url(db), "node-b", TIMEOUT)) {
            assertEquals(f, other.lookupToOpen("d/f").orElseThrow());
            assertTrue(store.openElsewhere(f.ino()), "node-b has it open, recorded with the lookup");
            assertTrue(other.lookupToOpen("d/missing").isEmpty());
            assertTrue(other.lookupToOpen("nodir/f").isEmpty());
            assertTrue(other.lookupToOpen("").isEmpty());
            other.closed(f.ino());
            assertFalse(store.openElsewhere(f.ino()));
            io.lettuce.core.RedisClient client = io.lettuce.core.RedisClient.create(redis.url(db));
            try (var c = client.connect()) {
                assertEquals(Set.of(), c.sync().smembers("peerfs:u:node-b"), "nothing found, nothing recorded");
                other.lookupToOpen("d/f");
                long ttl = c.sync().ttl("peerfs:u:node-b");
                assertTrue(ttl > 0 && ttl <= RedisSchema.OPEN_TTL_SECONDS, "it expires as opened() does: " + ttl);
            } finally {
                client.shutdown();
            }
        }
    }

    @Test
    void nodesWithNothingOpenLeaveTheListOfOpeners() throws Exception {
        long ino = store.create("f", file()).ino();
        io.lettuce.core.RedisClient client = io.lettuce.core.RedisClient.create(redis.url(db));
        try (var c = client.connect();
             MetaStore b = RedisMetaStore.open(redis.url(db), "node-b", TIMEOUT);
             MetaStore gone = RedisMetaStore.open(redis.url(db), "pod-7f3a", TIMEOUT)) {
            b.opened(ino);
            gone.opened(ino);
            assertEquals(Set.of("node-b", "pod-7f3a"), c.sync().smembers("peerfs:n"));
            c.sync().del("peerfs:u:pod-7f3a"); // its record expired: the node died or was replaced
            assertTrue(store.openElsewhere(ino), "node-b still has it open");
            assertEquals(Set.of("node-b"), c.sync().smembers("peerfs:n"), "the dead node's id is pruned");
            b.closed(ino);
            assertFalse(store.openElsewhere(ino));
            assertEquals(Set.of(), c.sync().smembers("peerfs:n"));
            b.opened(ino);
            assertTrue(store.openElsewhere(ino), "an open after the prune is seen");
        } finally {
            client.shutdown();
        }
    }

    @Test
    void scriptsTheServerForgotAreSentAgain() throws Exception {
        long ino = store.create("f", file()).ino();
        store.opened(ino);
        assertEquals(ino, store.lookup("f").orElseThrow().ino());
        io.lettuce.core.RedisClient client = io.lettuce.core.RedisClient.create(redis.url(db));
        try (var c = client.connect()) {
            c.sync().scriptFlush(); // as after a restart or a failover
        } finally {
            client.shutdown();
        }
        assertEquals(ino, store.lookup("f").orElseThrow().ino());
        assertTrue(store.lookup("g").isEmpty());
        assertEquals(1, store.closed(ino).orElseThrow().nlink());
    }

    @Test
    void twoNodesCreatingAndRenamingInOneDirectoryLoseNothing() throws Exception {
        try (MetaStore other = RedisMetaStore.open(redis.url(db), "node-b", TIMEOUT)) {
            store.create("shared", Inode.fresh(0, FileType.DIRECTORY, 0755, 0, 0, null, 1));
            ExecutorService pool = Executors.newFixedThreadPool(4);
            List<Future<?>> work = new ArrayList<>();
            for (int t = 0; t < 4; t++) {
                MetaStore node = t % 2 == 0 ? store : other;
                int thread = t;
                work.add(pool.submit(() -> {
                    for (int i = 0; i < 50; i++) {
                        node.create("shared/t" + thread + "-" + i + ".tmp", file());
                        node.rename("shared/t" + thread + "-" + i + ".tmp", "shared/t" + thread + "-" + i, i);
                    }
                    return null;
                }));
            }
            for (Future<?> f : work) {
                f.get();
            }
            pool.shutdown();
            List<String> names = other.list("shared");
            assertEquals(200, names.size(), "every file once: " + names);
            assertEquals(200, new HashSet<>(names).size());
            assertTrue(names.stream().noneMatch(n -> n.endsWith(".tmp")), names.toString());
            Set<Long> inos = new HashSet<>();
            for (String n : names) {
                inos.add(store.lookup("shared/" + n).orElseThrow().ino());
            }
            assertEquals(200, inos.size(), "no two files share an inode number");
        }
    }

    @Test
    void journalsAndOrphansBelongToTheirNode() throws Exception {
        try (MetaStore other = RedisMetaStore.open(redis.url(db), "node-b", TIMEOUT)) {
            long staged = store.stage("out/a", file(), null).ino();
            store.create("gone", file());
            store.unlink("gone", 2);
            assertTrue(other.staged().isEmpty(), "node b's journal is its own");
            assertEquals(Set.of(staged), store.staged().keySet());
            assertEquals(1, store.orphans().size());
            assertEquals(0, other.orphans().size());
            assertTrue(other.lookup("gone").isEmpty(), "the name is gone for every node");
        }
    }

    @Test
    void aClusterSettingMustMatchWhatTheClusterRecorded() throws Exception {
        store.agree("chunk size", "4194304", "4MiB");
        store.agree("chunk size", "4194304", "4MiB");
        try (MetaStore other = RedisMetaStore.open(redis.url(db), "node-b", TIMEOUT)) {
            PeerFsException e = assertThrows(PeerFsException.class, () -> other.agree("chunk size", "1048576",
                    "1MiB"));
            assertTrue(e.getMessage().contains("chunk size") && e.getMessage().contains("1MiB"), e.getMessage());
        }
    }

    @Test
    void anUnreachableServerIsAClearErrorAndALostOneFailsCallsUntilItReturns() throws Exception {
        PeerFsException refused = assertThrows(PeerFsException.class,
                () -> RedisMetaStore.open("redis://127.0.0.1:1/0", "node-b", TIMEOUT));
        assertTrue(refused.getMessage().contains("cannot connect to the metadata store redis://127.0.0.1:1/0"),
                refused.getMessage());
        assertThrows(PeerFsException.class, () -> RedisMetaStore.open("http://nope", "node-b", TIMEOUT));

        store.create("before", file());
        redis.stop();
        try {
            long start = System.nanoTime();
            assertThrows(PeerFsException.class, () -> store.lookup("before"));
            assertThrows(PeerFsException.class, () -> store.create("during", file()));
            assertTrue(System.nanoTime() - start < Duration.ofSeconds(10).toNanos(), "calls fail in bounded time");
        } finally {
            redis.start();
        }
        // the data of a server without persistence is gone, but the store works again
        long deadline = System.nanoTime() + Duration.ofSeconds(15).toNanos();
        while (true) {
            try {
                store.create("after", file());
                break;
            } catch (PeerFsException e) {
                if (System.nanoTime() > deadline) {
                    throw e;
                }
                Thread.sleep(100);
            }
        }
        // reads too: their connection reconnects on its own (at most a second apart), while a
        // transaction's is replaced at once, so the create may work a moment before the lookup
        while (true) {
            try {
                assertTrue(store.lookup("after").isPresent());
                break;
            } catch (PeerFsException e) {
                if (System.nanoTime() > deadline) {
                    throw e;
                }
                Thread.sleep(100);
            }
        }
    }
}

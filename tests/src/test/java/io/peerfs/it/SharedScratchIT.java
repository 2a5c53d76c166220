package io.peerfs.it;

import static io.peerfs.it.TestFiles.random;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.peerfs.meta.redis.RedisServer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

/**
 * The seed's pipeline: three daemons on 127.0.0.1 share one real redis-server and one backend.
 * A "CPU" node writes scratch files, a "GPU" node lists and reads them through the peer
 * protocol, and the backend sees neither their names nor their bytes; only result files
 * reach it.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class SharedScratchIT {
    static final int CHUNK = 1 << 20;
    static final long TTL_MS = 1000;
    @TempDir
    static Path tmp;
    static Path backend;
    static Path secret;
    static RedisServer redis;
    static final List<PeerFsMount> nodes = new ArrayList<>();
    static final List<String> addresses = new ArrayList<>();
    static Map<String, byte[]> tree = new TreeMap<>();
    static TreeMap<String, String> backendBefore;

    @BeforeAll
    static void startCluster() throws Exception {
        PeerFsMount.assumeFuse();
        redis = RedisServer.start(tmp.resolve("redis"), true);
        backend = Files.createDirectories(tmp.resolve("backend"));
        TestFiles.write(backend.resolve("src/input.txt"), "source data\n".getBytes());
        Files.createDirectories(backend.resolve("out"));
        secret = TestFiles.secret(tmp.resolve("secret"), "pipeline secret of sixteen+ bytes\n");
        for (int i = 0; i < 3; i++) {
            addresses.add("127.0.0.1:" + Ports.free());
        }
        for (int i = 0; i < 3; i++) {
            nodes.add(node(i).mount());
        }
        backendBefore = TestFiles.describe(backend);
    }

    static PeerFsMount node(int i, String... more) {
        List<String> args = new ArrayList<>(List.of("--meta", redis.url(0), "--listen", addresses.get(i),
                "--node-id", "node" + i, "--secret-file", secret.toString(), "--chunk-size", "1MiB",
                "--meta-ttl", "1s", "--peer-timeout", "2s", "--result-paths", "out/**"));
        args.addAll(List.of(more));
        return new PeerFsMount(backend, tmp.resolve("mnt" + i), tmp.resolve("cache" + i),
                args.toArray(String[]::new));
    }

    @AfterAll
    static void stopCluster() throws Exception {
        for (PeerFsMount n : nodes) {
            n.close();
        }
        if (redis != null) {
            redis.close();
        }
    }

    static PeerFsMount cpu() {
        return nodes.get(0);
    }

    static PeerFsMount gpu() {
        return nodes.get(1);
    }

    /** Waits out the kernel's attribute and entry caches (--meta-ttl) of other nodes. */
    static void waitTtl() throws InterruptedException {
        Thread.sleep(TTL_MS + 300);
    }

    @Test
    @Order(1)
    void aTreeWrittenOnOneNodeIsListedAndReadOnTheOthersAndNeverReachesTheBackend() throws Exception {
        for (int i = 0; i < 120; i++) {
            tree.put("stage1/small/f" + i, random(4096 + i, i));
        }
        for (int i = 0; i < 3; i++) {
            tree.put("stage1/big" + i, random(3 * CHUNK + 12345 * (i + 1), 1000 + i));
        }
        for (Map.Entry<String, byte[]> e : tree.entrySet()) {
            TestFiles.write(cpu().mountpoint.resolve(e.getKey()), e.getValue());
        }
        long pinned = cpu().status().path("cache").path("pinnedBytes").asLong();
        long total = tree.values().stream().mapToLong(b -> b.length).sum();
        assertTrue(pinned >= total, "the writer pins its scratch data: " + pinned + " < " + total);

        for (PeerFsMount reader : List.of(gpu(), nodes.get(2))) {
            List<String> listed;
            try (Stream<Path> s = Files.list(reader.mountpoint.resolve("stage1/small"))) {
                listed = s.map(p -> p.getFileName().toString()).sorted().toList();
            }
            assertEquals(120, listed.size(), reader.mountpoint + " lists the tree: " + listed);
            for (Map.Entry<String, byte[]> e : tree.entrySet()) {
                assertArrayEquals(e.getValue(), Files.readAllBytes(reader.mountpoint.resolve(e.getKey())),
                        reader.mountpoint + " reads " + e.getKey());
            }
            assertTrue(reader.status().path("peers").path("bytesFetched").asLong() >= total,
                    "the bytes came from the writer's cache");
        }
        assertEquals(0, gpu().backendBytesRead() + nodes.get(2).backendBytesRead(),
                "no scratch byte read from the backend");

        byte[] result = random(2 * CHUNK + 7, 77);
        TestFiles.write(gpu().mountpoint.resolve("out/model.bin"), result);
        assertArrayEquals(result, Files.readAllBytes(backend.resolve("out/model.bin")), "results reach the backend");

        TreeMap<String, String> after = TestFiles.describe(backend);
        after.remove("out/model.bin");
        assertEquals(backendBefore, after, "no scratch name reached the backend");
        try (Stream<Path> s = Files.walk(backend)) {
            for (Path p : (Iterable<Path>) s::iterator) {
                if (Files.isRegularFile(p) && !p.endsWith("out/model.bin")) {
                    assertTrue(Files.size(p) < 4096, "no scratch byte reached the backend: " + p);
                }
            }
        }
    }

    @Test
    @Order(2)
    void renamesUnlinksAndTruncatesOnOneNodeAreSeenByTheOthers() throws Exception {
        Path onCpu = cpu().mountpoint.resolve("stage1");
        Path onGpu = gpu().mountpoint.resolve("stage1");
        Files.move(onCpu.resolve("big0"), onCpu.resolve("big0.done"));
        Files.delete(onCpu.resolve("small/f0"));
        try (var ch = java.nio.channels.FileChannel.open(onCpu.resolve("small/f1"),
                java.nio.file.StandardOpenOption.WRITE)) {
            ch.truncate(100);
        }
        waitTtl();
        assertFalse(Files.exists(onGpu.resolve("big0")));
        assertArrayEquals(tree.get("stage1/big0"), Files.readAllBytes(onGpu.resolve("big0.done")));
        assertFalse(Files.exists(onGpu.resolve("small/f0")));
        assertArrayEquals(java.util.Arrays.copyOf(tree.get("stage1/small/f1"), 100),
                Files.readAllBytes(onGpu.resolve("small/f1")));

        // the GPU node deletes a file the CPU node holds: the holder frees its chunks
        long pinnedBefore = cpu().status().path("cache").path("pinnedBytes").asLong();
        Files.delete(onGpu.resolve("big1"));
        long deadline = System.nanoTime() + 10_000_000_000L;
        long pinned = pinnedBefore;
        while (System.nanoTime() < deadline && pinned > pinnedBefore - tree.get("stage1/big1").length) {
            Thread.sleep(100);
            pinned = cpu().status().path("cache").path("pinnedBytes").asLong();
        }
        assertTrue(pinned <= pinnedBefore - tree.get("stage1/big1").length,
                "the holder freed the deleted file's chunks: " + pinnedBefore + " -> " + pinned);
        waitTtl();
        assertFalse(Files.exists(cpu().mountpoint.resolve("stage1/big1")));
    }

    /** As on a local file system: the data of a removed file lives until its last close, on any node. */
    @Test
    @Order(2)
    void aFileRemovedOnOneNodeWhileOpenOnAnotherIsReadWholeThereAndFreedAtItsClose() throws Exception {
        byte[] data = random(3 * CHUNK + 5, 21);
        TestFiles.write(cpu().mountpoint.resolve("stage1/held.bin"), data);
        long pinned = cpu().status().path("cache").path("pinnedBytes").asLong();
        waitTtl();
        try (var ch = java.nio.channels.FileChannel.open(gpu().mountpoint.resolve("stage1/held.bin"))) {
            Files.delete(cpu().mountpoint.resolve("stage1/held.bin")); // nothing of it read on the GPU node yet
            Thread.sleep(1000); // a free would have reached the holder by now
            assertEquals(pinned, cpu().status().path("cache").path("pinnedBytes").asLong(),
                    "the holder keeps the chunks of a file open elsewhere");
            java.nio.ByteBuffer all = java.nio.ByteBuffer.allocate(data.length);
            while (all.hasRemaining() && ch.read(all) > 0) {
                // to the end
            }
            assertArrayEquals(data, all.array());
        }
        long deadline = System.nanoTime() + 10_000_000_000L;
        long now = pinned;
        while (System.nanoTime() < deadline && now > pinned - data.length) {
            Thread.sleep(100);
            now = cpu().status().path("cache").path("pinnedBytes").asLong();
        }
        assertEquals(pinned - data.length, now, "the reader's last close freed the chunks on their holder");
        waitTtl();
        assertFalse(Files.exists(gpu().mountpoint.resolve("stage1/held.bin")));
    }

    @Test
    @Order(3)
    void concurrentCreatesAndRenamesFromTwoNodesEndInOneConsistentDirectory() throws Exception {
        Files.createDirectories(cpu().mountpoint.resolve("mix"));
        waitTtl();
        ExecutorService pool = Executors.newFixedThreadPool(2);
        List<Future<?>> work = new ArrayList<>();
        for (int n = 0; n < 2; n++) {
            Path dir = nodes.get(n).mountpoint.resolve("mix");
            String who = "n" + n;
            work.add(pool.submit(() -> {
                for (int i = 0; i < 100; i++) {
                    Path tmpName = dir.resolve(who + "-" + i + ".tmp");
                    Files.write(tmpName, (who + i).getBytes());
                    Files.move(tmpName, dir.resolve(who + "-" + i));
                }
                return null;
            }));
        }
        for (Future<?> f : work) {
            f.get();
        }
        pool.shutdown();
        waitTtl();
        for (PeerFsMount n : nodes) {
            List<String> names;
            try (Stream<Path> s = Files.list(n.mountpoint.resolve("mix"))) {
                names = s.map(p -> p.getFileName().toString()).sorted().toList();
            }
            assertEquals(200, names.size(), n.mountpoint + ": " + names);
            assertEquals(200, new HashSet<>(names).size());
            assertTrue(names.stream().noneMatch(x -> x.endsWith(".tmp")), names.toString());
            assertEquals("n0" + 42, Files.readString(n.mountpoint.resolve("mix/n0-42")));
            assertEquals("n1" + 99, Files.readString(n.mountpoint.resolve("mix/n1-99")));
        }
    }

    @Test
    @Order(4)
    void gcRemovesChunksNoFileUsesAndKeepsTheRest() throws Exception {
        TestFiles.write(cpu().mountpoint.resolve("lost.bin"), random(CHUNK + 5, 9));
        long pinnedBefore = cpu().status().path("cache").path("pinnedBytes").asLong();
        // a node that deleted the file crashed before it told the holder: the name and inode are gone
        io.lettuce.core.RedisClient client = io.lettuce.core.RedisClient.create(redis.url(0));
        try (var c = client.connect(io.lettuce.core.codec.ByteArrayCodec.INSTANCE)) {
            byte[] dir = "peerfs:d:".getBytes();
            byte[] entry = c.sync().hget(dir, "lost.bin".getBytes());
            long ino = java.nio.ByteBuffer.wrap(entry).getLong();
            c.sync().hdel(dir, "lost.bin".getBytes());
            c.sync().del(("peerfs:i:" + ino).getBytes());
        } finally {
            client.shutdown();
        }
        PeerFsMount.Run gc = PeerFsMount.peerfs("gc", cpu().mountpoint.toString());
        assertEquals(0, gc.exit(), gc.err());
        assertTrue(gc.out().contains("removed 2 scratch chunks"), gc.out());
        long pinned = cpu().status().path("cache").path("pinnedBytes").asLong();
        assertTrue(pinned <= pinnedBefore - CHUNK, pinnedBefore + " -> " + pinned);
        for (String f : List.of("stage1/big2", "stage1/small/f7")) {
            assertArrayEquals(tree.get(f), Files.readAllBytes(cpu().mountpoint.resolve(f)), f + " still reads");
        }
        PeerFsMount.Run again = PeerFsMount.peerfs("gc", cpu().mountpoint.toString());
        assertTrue(again.out().contains("removed 0 scratch chunks"), again.out());
    }

    @Test
    @Order(5)
    void mountsThatDisagreeWithTheClusterOrCannotReachRedisAreRefused() throws Exception {
        String cluster = "--listen=127.0.0.1:0,--node-id=x,--secret-file=" + secret;
        assertRefused("cannot connect to the metadata store redis://127.0.0.1:1/0",
                "--meta=redis://127.0.0.1:1/0," + cluster);
        assertRefused("chunk size", "--meta=" + redis.url(0) + ",--chunk-size=2MiB," + cluster);
        Path otherSecret = TestFiles.secret(tmp.resolve("other-secret"), "a different secret, 16+ bytes");
        assertRefused("cluster secret", "--meta=" + redis.url(0) + ",--chunk-size=1MiB,--listen=127.0.0.1:0,"
                + "--node-id=x,--secret-file=" + otherSecret);
        assertRefused("--listen", "--meta=" + redis.url(0));
    }

    /** A mount with these options ({@code ,}-separated {@code --opt=value}) fails, saying {@code why}. */
    static void assertRefused(String why, String options) throws Exception {
        List<String> args = new ArrayList<>(List.of("mount", backend.toString(), tmp.resolve("mntx").toString(),
                "--cache-dir", tmp.resolve("cachex").toString()));
        args.addAll(List.of(options.split(",")));
        PeerFsMount.Run r = PeerFsMount.peerfs(args.toArray(String[]::new));
        assertNotEquals(0, r.exit(), options);
        assertTrue(r.err().contains(why), "expected '" + why + "' in: " + r.err());
    }

    /** Something that fails until the cluster has caught up. */
    @FunctionalInterface
    interface Attempt {
        void run() throws Exception;
    }

    /** Retries {@code attempt} every 500 ms until it succeeds; its last failure after {@code seconds}. */
    static void eventually(int seconds, Attempt attempt) throws Exception {
        long deadline = System.nanoTime() + seconds * 1_000_000_000L;
        while (true) {
            try {
                attempt.run();
                return;
            } catch (IOException | AssertionError notYet) {
                if (System.nanoTime() > deadline) {
                    throw notYet;
                }
                Thread.sleep(500);
            }
        }
    }

    @Test
    @Order(5)
    void aClusterPinIsKeptByEachChunksOwnerAndTagsAndUnpinsReachEveryNode() throws Exception {
        byte[] data = random(6 * CHUNK + 3, 99); // 7 chunks over 3 owners
        TestFiles.write(backend.resolve("pinned/set/data.bin"), data);
        long loadsBefore = 0;
        for (PeerFsMount n : nodes) {
            loadsBefore += n.backendBytesRead();
        }
        PeerFsMount.Run r = PeerFsMount.peerfs("cache", "pin", "--cluster",
                cpu().mountpoint.resolve("pinned/set").toString());
        assertEquals(0, r.exit(), r.out() + r.err());
        assertTrue(r.out().contains("kept by each chunk's owner"), r.out());
        long resident = 0;
        long backendAfter = 0;
        for (PeerFsMount n : nodes) {
            n.awaitChunksStored();
            resident += n.status().path("cache").path("residentBytes").asLong();
            backendAfter += n.backendBytesRead();
        }
        assertEquals(data.length, resident, "each chunk kept resident once, by its owner");
        assertEquals(data.length, backendAfter - loadsBefore, "the store served each chunk once");
        eventually(15, () -> { // the others read the pins again every few seconds
            for (PeerFsMount n : nodes) {
                assertEquals("/pinned/set", PeerFsMount.command("getfattr", "--only-values", "-n", "user.peerfs.pin",
                        n.mountpoint.resolve("pinned/set/data.bin").toString()).out());
            }
        });

        Files.createDirectories(backend.resolve("tagged"));
        assertEquals(0, PeerFsMount.command("setfattr", "-n", "user.peerfs.result", "-v", "1",
                cpu().mountpoint.resolve("tagged").toString()).exit());
        eventually(15, () -> assertTrue(PeerFsMount.command("getfattr", "--only-values", "-n", "user.peerfs.info",
                gpu().mountpoint.resolve("tagged").toString()).out().contains("\"newNames\":\"result\""),
                "a result tag set on another node reaches this one"));
        TestFiles.write(gpu().mountpoint.resolve("tagged/r.txt"), "result\n".getBytes());
        assertEquals("result\n", Files.readString(backend.resolve("tagged/r.txt")));

        r = PeerFsMount.peerfs("cache", "unpin", gpu().mountpoint.resolve("pinned/set").toString());
        assertEquals(0, r.exit(), r.out() + r.err());
        eventually(15, () -> {
            long left = 0;
            for (PeerFsMount n : nodes) {
                left += n.status().path("cache").path("residentBytes").asLong();
            }
            assertEquals(0, left, "an unpin on one node releases the chunks on every node");
        });
    }

    @Test
    @Order(6)
    void aDeadHolderIsAQuickEioAndItsDataReturnsWithIt() throws Exception {
        byte[] data = random(2 * CHUNK + 99, 5);
        TestFiles.write(cpu().mountpoint.resolve("lonely.bin"), data);
        waitTtl();
        cpu().kill9();
        long start = System.nanoTime();
        IOException e = assertThrows(IOException.class,
                () -> Files.readAllBytes(gpu().mountpoint.resolve("lonely.bin")));
        long seconds = (System.nanoTime() - start) / 1_000_000_000L;
        assertTrue(seconds < 30, "EIO came after " + seconds + " s");
        assertFalse(e instanceof NoSuchFileException, e.toString());
        String log = Files.readString(gpu().cacheDir.resolve("peerfs.log"));
        assertTrue(log.contains("lonely.bin") && log.contains("node0"), "the log names the file and the node");

        nodes.set(0, node(0).mount()); // the stale mount is repaired; the pinned chunks are still on disk
        // the holder's address may still be marked down for a few seconds
        eventually(20, () -> assertArrayEquals(data, Files.readAllBytes(gpu().mountpoint.resolve("lonely.bin"))));
    }

    @Test
    @Order(7)
    void losingRedisFailsCallsInBoundedTimeAndTheyRecoverWhenItReturns() throws Exception {
        redis.stop();
        try {
            long start = System.nanoTime();
            assertThrows(IOException.class, () -> Files.write(gpu().mountpoint.resolve("while-down"), new byte[1]));
            long seconds = (System.nanoTime() - start) / 1_000_000_000L;
            assertTrue(seconds < 30, "the call failed after " + seconds + " s");
        } finally {
            redis.start();
        }
        eventually(30, () -> Files.write(gpu().mountpoint.resolve("after-redis"), "back".getBytes()));
        waitTtl();
        assertEquals("back", Files.readString(cpu().mountpoint.resolve("after-redis")));
        assertArrayEquals(tree.get("stage1/big2"), Files.readAllBytes(cpu().mountpoint.resolve("stage1/big2")),
                "the namespace survived the Redis restart (append-only file)");
    }

    @Test
    @Order(8)
    void withTwoReplicasTheWriterCanDieAndEveryByteIsStillRead() throws Exception {
        nodes.get(2).close();
        nodes.set(2, node(2, "--scratch-replicas", "2").mount());
        PeerFsMount writer = nodes.get(2);
        Map<String, byte[]> files = new TreeMap<>();
        files.put("replicated/big", random(3 * CHUNK + 17, 21));
        files.put("replicated/small", random(1000, 22));
        long pinnedBefore = pinnedOn(nodes.get(0)) + pinnedOn(nodes.get(1));
        for (Map.Entry<String, byte[]> f : files.entrySet()) {
            TestFiles.write(writer.mountpoint.resolve(f.getKey()), f.getValue()); // close waits for the copies
        }
        JsonNode peers = writer.status().path("peers");
        assertEquals(5, peers.path("scratchChunksReplicated").asLong(), peers.toString());
        assertEquals(0, peers.path("scratchChunksUnderReplicated").asLong(), peers.toString());
        long kept = 0;
        for (int n = 0; n < 2; n++) {
            kept += nodes.get(n).status().path("peers").path("scratchReplicasKept").asLong();
        }
        assertEquals(5, kept, "each chunk has one copy on node0 or node1");
        long replicaBytes = files.values().stream().mapToLong(b -> b.length).sum();
        assertEquals(pinnedBefore + replicaBytes, pinnedOn(nodes.get(0)) + pinnedOn(nodes.get(1)),
                "the copies are pinned: eviction must not drop the only other copy");

        waitTtl();
        writer.kill9();
        for (int n = 0; n < 2; n++) {
            for (Map.Entry<String, byte[]> f : files.entrySet()) {
                assertArrayEquals(f.getValue(), Files.readAllBytes(nodes.get(n).mountpoint.resolve(f.getKey())),
                        f.getKey() + " on node" + n + " after its writer died");
            }
        }

        // deleting frees the copies on every holder that is up
        for (String f : files.keySet()) {
            Files.delete(nodes.get(1).mountpoint.resolve(f));
        }
        eventually(10, () -> {
            long pinned = pinnedOn(nodes.get(0)) + pinnedOn(nodes.get(1));
            if (pinned > pinnedBefore) {
                throw new IOException("copies still pinned: " + pinnedBefore + " -> " + pinned);
            }
        });
        nodes.set(2, node(2).mount());
        waitTtl();
        assertFalse(Files.exists(nodes.get(2).mountpoint.resolve("replicated/big")));
    }

    static long pinnedOn(PeerFsMount node) throws IOException {
        return node.status().path("cache").path("pinnedBytes").asLong();
    }
}

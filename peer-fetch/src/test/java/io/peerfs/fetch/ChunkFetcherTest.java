package io.peerfs.fetch;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.peerfs.backend.CountingBackend;
import io.peerfs.backend.LocalDirBackend;
import io.peerfs.chunk.ByteSize;
import io.peerfs.chunk.ChunkKey;
import io.peerfs.chunk.ChunkStoreConfig;
import io.peerfs.chunk.disk.DiskChunkStore;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ChunkFetcherTest {
    static final int CHUNK = 1 << 20;
    @TempDir
    Path backendDir;
    @TempDir
    Path cacheDir;
    DiskChunkStore store;
    ChunkFetcher fetcher;

    /** A backend whose data reads wait at a gate, so concurrent readers really overlap. */
    static final class GatedBackend extends io.peerfs.backend.ForwardingBackend {
        final CountDownLatch gate = new CountDownLatch(1);

        GatedBackend(Path root) throws java.io.IOException {
            super(LocalDirBackend.open(root));
        }

        @Override
        public int read(String path, long offset, ByteBuffer dst) throws java.io.IOException {
            awaitGate();
            return super.read(path, offset, dst);
        }

        @Override
        public int readInto(String path, long offset, ByteBuffer dst) throws java.io.IOException {
            awaitGate();
            return super.readInto(path, offset, dst); // chunk loads come this way
        }

        private void awaitGate() throws java.io.InterruptedIOException {
            try {
                gate.await(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                throw new java.io.InterruptedIOException();
            }
        }
    }

    @AfterEach
    void close() {
        if (fetcher != null) {
            fetcher.close();
        }
        if (store != null) {
            store.close();
        }
    }

    private byte[] writeFile(String name, int size) throws Exception {
        byte[] data = new byte[size];
        new Random(size).nextBytes(data);
        Files.write(backendDir.resolve(name), data);
        return data;
    }

    /** Chunk {@code index} of the backend file's version of {@code size} bytes and its mtime now. */
    private ChunkRef ref(String name, long size, int index) throws java.io.IOException {
        Path file = backendDir.resolve(name);
        long mtimeNs = Files.exists(file) ? Files.getLastModifiedTime(file).to(TimeUnit.NANOSECONDS) : 1;
        return ChunkRef.of(new ChunkRef.Version(name, size, mtimeNs), name, index, CHUNK);
    }

    private byte[] read(ChunkRef ref, long off, int len) throws Exception {
        ByteBuffer dst = ByteBuffer.allocateDirect(len);
        int n = fetcher.read(ref, off, dst);
        byte[] out = new byte[n];
        dst.flip().get(out);
        return out;
    }

    private void open(io.peerfs.backend.Backend backend, long capacity) throws Exception {
        store = DiskChunkStore.open(new ChunkStoreConfig(cacheDir, ByteSize.ofBytes(capacity), 0));
        fetcher = new ChunkFetcher(store, backend, CHUNK, 1);
    }

    @Test
    void concurrentReadersOfOneChunkCauseOneBackendRead() throws Exception {
        byte[] data = writeFile("f", CHUNK + 100);
        GatedBackend gated = new GatedBackend(backendDir);
        CountingBackend backend = new CountingBackend(gated);
        open(backend, 64L << 20);
        ExecutorService pool = Executors.newFixedThreadPool(8);
        List<Future<byte[]>> results = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            int off = i * 1000;
            results.add(pool.submit(() -> read(ref("f", data.length, 0), off, 4096)));
        }
        Thread.sleep(200); // let all eight reach the gate or the single-flight wait
        gated.gate.countDown();
        for (int i = 0; i < 8; i++) {
            assertArrayEquals(Arrays.copyOfRange(data, i * 1000, i * 1000 + 4096), results.get(i).get());
        }
        pool.shutdown();
        assertEquals(1, backend.counts().dataReads());
        assertEquals(CHUNK, backend.counts().bytesRead());
        assertEquals(1, fetcher.stats().backendLoads());
    }

    /** A fetcher that starts with nothing in memory, as after a restart, over the same store. */
    private void restartFetcher(io.peerfs.backend.Backend backend) {
        fetcher.close();
        fetcher = new ChunkFetcher(store, backend, CHUNK, 1);
    }

    @Test
    void readsRightAfterALoadComeFromMemoryUntilTheChunkWasReadToTheEnd() throws Exception {
        byte[] data = writeFile("f", CHUNK + 100);
        CountingBackend backend = new CountingBackend(LocalDirBackend.open(backendDir));
        open(backend, 64L << 20);
        ChunkRef first = ref("f", data.length, 0);
        assertArrayEquals(Arrays.copyOfRange(data, 0, 4096), read(first, 0, 4096));
        assertArrayEquals(Arrays.copyOfRange(data, 50, 4146), read(first, 50, 4096));
        assertEquals(0, store.stats().hits(), "the loaded chunk is served from memory, not read back from its file");
        assertArrayEquals(Arrays.copyOfRange(data, 4146, CHUNK), read(first, 4146, CHUNK));
        assertEquals(0, store.stats().hits());
        fetcher.awaitStores();
        // as many bytes read as the chunk holds and its file written: a sequential reader is done, memory is given up
        assertArrayEquals(Arrays.copyOfRange(data, 7, 107), read(first, 7, 100));
        assertEquals(1, store.stats().hits());
        assertEquals(1, backend.counts().dataReads());
    }

    @Test
    void fullChunksAreWrittenPastThePageCacheAndReadBackWhole() throws Exception {
        // 3 chunks: two whole ones (direct I/O for all their blocks) and a tail of 4096 + 123 bytes
        int size = 2 * CHUNK + 4096 + 123;
        byte[] data = writeFile("f", size);
        CountingBackend backend = new CountingBackend(LocalDirBackend.open(backendDir));
        open(backend, 64L << 20);
        for (int i = 0; i < 3; i++) {
            read(ref("f", size, i), 0, 1);
        }
        restartFetcher(backend);
        ByteBuffer all = ByteBuffer.allocate(size);
        for (int i = 0; i < 3; i++) {
            ChunkRef r = ref("f", size, i);
            assertEquals(r.length(), Files.size(store.chunkFile(r.key())));
            all.put(read(r, 0, CHUNK));
        }
        assertArrayEquals(data, all.array());
        assertEquals(3, backend.counts().dataReads());
        assertEquals(0, store.stats().corrupt());
    }

    @Test
    void corruptChunkIsRefetchedNotReturned() throws Exception {
        byte[] data = writeFile("f", CHUNK);
        CountingBackend backend = new CountingBackend(LocalDirBackend.open(backendDir));
        open(backend, 64L << 20);
        ChunkRef r = ref("f", data.length, 0);
        read(r, 0, 10);
        fetcher.awaitStores();
        try (RandomAccessFile f = new RandomAccessFile(store.chunkFile(r.key()).toFile(), "rw")) {
            f.seek(5);
            f.write(data[5] ^ 1);
        }
        restartFetcher(backend); // not served from the memory of the first load
        assertArrayEquals(Arrays.copyOf(data, 100), read(r, 0, 100));
        assertEquals(2, backend.counts().dataReads());
        assertEquals(1, store.stats().corrupt());
    }

    /** A store whose writes of fetched chunks wait at a gate, as a slow cache disk's would. */
    static final class SlowStore implements io.peerfs.chunk.ChunkStore {
        final DiskChunkStore disk;
        final CountDownLatch gate = new CountDownLatch(1);
        final CountDownLatch writing = new CountDownLatch(1);

        SlowStore(DiskChunkStore disk) {
            this.disk = disk;
        }

        @Override
        public void putFetched(ChunkKey key, ByteBuffer data) throws java.io.IOException {
            writing.countDown();
            try {
                gate.await(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                throw new java.io.InterruptedIOException();
            }
            disk.putFetched(key, data);
        }

        @Override
        public int read(ChunkKey key, long offsetInChunk, ByteBuffer dst) throws java.io.IOException {
            return disk.read(key, offsetInChunk, dst);
        }

        @Override
        public boolean contains(ChunkKey key) {
            return disk.contains(key);
        }

        @Override
        public boolean isPinned(ChunkKey key) throws java.io.IOException {
            return disk.isPinned(key);
        }

        @Override
        public void putScratch(ChunkKey key, ByteBuffer data, long ino) throws java.io.IOException {
            disk.putScratch(key, data, ino);
        }

        @Override
        public long scratchOwner(ChunkKey key) throws java.io.IOException {
            return disk.scratchOwner(key);
        }

        @Override
        public void put(ChunkKey key, ByteBuffer data, boolean pinned) throws java.io.IOException {
            disk.put(key, data, pinned);
        }

        @Override
        public void sync(ChunkKey key) throws java.io.IOException {
            disk.sync(key);
        }

        @Override
        public java.util.Optional<Exported> export(ChunkKey key) throws java.io.IOException {
            return disk.export(key);
        }

        @Override
        public java.util.Set<ChunkKey> pinnedKeys() {
            return disk.pinnedKeys();
        }

        @Override
        public void remove(ChunkKey key) throws java.io.IOException {
            disk.remove(key);
        }

        @Override
        public io.peerfs.chunk.ChunkStoreStats stats() {
            return disk.stats();
        }

        @Override
        public void close() {
            disk.close();
        }
    }

    @Test
    void readersAreServedWhileTheChunkFileIsWrittenAndOwnerLoadsWaitForIt() throws Exception {
        byte[] data = writeFile("f", CHUNK);
        CountingBackend backend = new CountingBackend(LocalDirBackend.open(backendDir));
        store = DiskChunkStore.open(new ChunkStoreConfig(cacheDir, ByteSize.ofBytes(64L << 20), 0));
        SlowStore slow = new SlowStore(store);
        fetcher = new ChunkFetcher(slow, backend, CHUNK, 1);
        ChunkRef r = ref("f", data.length, 0);
        // the whole chunk, while its file waits at the gate: from the memory it was loaded into
        assertArrayEquals(Arrays.copyOfRange(data, 0, CHUNK / 2), read(r, 0, CHUNK / 2));
        assertTrue(slow.writing.await(10, TimeUnit.SECONDS));
        assertArrayEquals(Arrays.copyOfRange(data, CHUNK / 2, CHUNK), read(r, CHUNK / 2, CHUNK));
        assertArrayEquals(Arrays.copyOfRange(data, 3, 103), read(r, 3, 100), "kept in memory until its file is written");
        assertTrue(!store.contains(r.key()));
        // what a peer's request does on the owner: it waits for the file, and reads the backend no more
        ExecutorService pool = Executors.newSingleThreadExecutor();
        Future<Boolean> owner = pool.submit(() -> fetcher.loadLocally(r));
        Thread.sleep(100);
        assertTrue(!owner.isDone(), "an owner's load returns only once the store has the chunk");
        slow.gate.countDown();
        assertTrue(owner.get(10, TimeUnit.SECONDS));
        pool.shutdown();
        assertTrue(store.contains(r.key()));
        assertEquals(1, backend.counts().dataReads());
        assertEquals(0, store.stats().hits());
        assertArrayEquals(Arrays.copyOfRange(data, 5, 105), read(r, 5, 100), "read to its end and stored: from the file");
        assertEquals(1, store.stats().hits());
    }

    @Test
    void aCacheThatCannotKeepTheChunkStillServesCorrectBytes() throws Exception {
        byte[] data = writeFile("f", 3 * CHUNK);
        CountingBackend backend = new CountingBackend(LocalDirBackend.open(backendDir));
        open(backend, CHUNK);
        ByteBuffer pinned = ByteBuffer.allocateDirect(CHUNK);
        store.put(ChunkKey.forScratchFile(1, 1, 1), pinned, true); // the whole cache is pinned
        for (int i = 0; i < 3; i++) {
            ChunkRef r = ref("f", data.length, i);
            assertArrayEquals(Arrays.copyOfRange(data, i * CHUNK + 7, i * CHUNK + 7 + 70_000), read(r, 7, 70_000));
            assertArrayEquals(Arrays.copyOfRange(data, i * CHUNK + 70_007, i * CHUNK + 140_007), read(r, 70_007, 70_000));
            assertTrue(!store.contains(r.key()));
        }
        assertEquals(3, backend.counts().dataReads(), "each chunk loaded once into memory, its second read served there");
    }

    @Test
    void aFileThatShrankOnTheBackendIsAnErrorNotWrongBytes() throws Exception {
        writeFile("f", CHUNK);
        open(LocalDirBackend.open(backendDir), 64L << 20);
        ChunkRef stale = ref("f", 2L * CHUNK, 1); // opened when the file had two chunks
        assertThrows(io.peerfs.backend.FileChangedException.class, () -> read(stale, 0, 10));
    }

    @Test
    void prefetchLoadsAheadOfTheReader() throws Exception {
        byte[] data = writeFile("f", 2 * CHUNK);
        open(LocalDirBackend.open(backendDir), 64L << 20);
        ChunkRef next = ref("f", data.length, 1);
        fetcher.prefetch(next);
        for (int i = 0; i < 100 && !store.contains(next.key()); i++) {
            Thread.sleep(20);
        }
        assertTrue(store.contains(next.key()));
        assertEquals(1, fetcher.stats().prefetches());
    }

    /** Peers that own every chunk and serve it from the backend's file, counting what they send. */
    static final class CountingPeers implements PeerSource {
        final Path root;
        final java.util.concurrent.atomic.AtomicInteger fetches = new java.util.concurrent.atomic.AtomicInteger();

        CountingPeers(Path root) {
            this.root = root;
        }

        @Override
        public boolean ownedHere(ChunkKey key) {
            return false;
        }

        @Override
        public boolean fetch(ChunkRef ref, ByteBuffer dst) throws java.io.IOException {
            fetches.incrementAndGet();
            try (var ch = java.nio.channels.FileChannel.open(root.resolve(ref.backendPath()))) {
                int want = dst.position() + ref.length();
                long pos = ref.fileOffset();
                while (dst.position() < want) {
                    int n = ch.read(dst, pos);
                    if (n < 0) {
                        return false;
                    }
                    pos += n;
                }
                return true;
            }
        }
    }

    @Test
    void chunksFromPeersAreKeptOnlyWhenAskedTo() throws Exception {
        byte[] data = writeFile("p.bin", 3 * CHUNK + 100);
        CountingBackend backend = new CountingBackend(LocalDirBackend.open(backendDir));
        for (boolean keep : new boolean[] {true, false}) {
            close();
            Files.walk(cacheDir).sorted(java.util.Comparator.reverseOrder()).filter(p -> !p.equals(cacheDir))
                    .forEach(p -> p.toFile().delete());
            open(backend, 64L * CHUNK);
            CountingPeers peers = new CountingPeers(backendDir);
            fetcher.usePeers(peers, keep);
            // a reader walking the file in 128 KiB requests, twice
            for (int pass = 0; pass < 2; pass++) {
                for (int c = 0; c < 4; c++) {
                    ChunkRef ref = ref("p.bin", data.length, c);
                    for (int off = 0; off < ref.length(); off += 128 << 10) {
                        byte[] got = read(ref, off, 128 << 10);
                        int at = c * CHUNK + off;
                        assertArrayEquals(Arrays.copyOfRange(data, at, at + got.length), got, "keep=" + keep);
                    }
                }
            }
            assertEquals(4, peers.fetches.get(), "each chunk fetched from a peer once, keep=" + keep);
            fetcher.awaitStores();
            assertEquals(keep, store.contains(ref("p.bin", data.length, 0).key()), "kept in the store: " + keep);
            assertEquals(0, backend.counts().dataReads(), "nothing read from the backend");
        }
    }
}

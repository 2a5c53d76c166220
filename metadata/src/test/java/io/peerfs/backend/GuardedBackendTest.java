package io.peerfs.backend;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.peerfs.meta.FileAttr;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Result uploads through a store that stalls: bounded by progress, never a late rename. Reads:
 * a late one never lands in a buffer its caller took back, unless the caller gave it up.
 */
class GuardedBackendTest {
    static final Backend.NewFile FILE = new Backend.NewFile(0644, -1, -1, 0, 0, Map.of());
    @TempDir
    Path root;

    /** A store whose upload stalls right before the rename until {@link #wake} is counted down. */
    final class StallingStore extends ForwardingBackend {
        final CountDownLatch wake = new CountDownLatch(1);
        final AtomicInteger finished = new AtomicInteger();

        StallingStore() throws IOException {
            super(LocalDirBackend.open(root));
        }

        @Override
        public FileAttr replace(String path, long size, NewFile meta, Content content, String tempTag) throws IOException {
            try {
                return super.replace(path, size, meta, new Content() {
                    @Override
                    public int read(long offset, ByteBuffer dst) throws IOException {
                        return content.read(offset, dst);
                    }

                    @Override
                    public void progress() {
                        content.progress();
                    }

                    @Override
                    public boolean mayCommit() {
                        try {
                            wake.await();
                        } catch (InterruptedException e) {
                            Thread.currentThread().interrupt();
                        }
                        return content.mayCommit();
                    }
                }, tempTag);
            } finally {
                finished.incrementAndGet();
            }
        }
    }

    static Backend.Content bytes(byte[] data) {
        return (off, dst) -> {
            int n = (int) Math.min(dst.remaining(), data.length - off);
            dst.put(data, (int) off, n);
            return n;
        };
    }

    @Test
    void anUploadThatStallsFailsAndItsLateWakeUpNeverReplacesTheTarget() throws Exception {
        Files.writeString(root.resolve("model.bin"), "version 1");
        StallingStore store = new StallingStore();
        GuardedBackend guarded = new GuardedBackend(store, root, Duration.ofMillis(300));
        byte[] v2 = "version 2".getBytes();
        assertThrows(BackendUnavailableException.class,
                () -> guarded.replace("model.bin", v2.length, FILE, bytes(v2), "peerfs-7"));
        assertEquals(1, guarded.stats().timeouts());

        store.wake.countDown(); // the store answers again: the abandoned attempt must not rename
        for (int i = 0; i < 100 && store.finished.get() == 0; i++) {
            Thread.sleep(50);
        }
        assertEquals(1, store.finished.get(), "the abandoned attempt ran to its end");
        assertEquals("version 1", Files.readString(root.resolve("model.bin")));
        try (var names = Files.list(root)) {
            assertEquals(0, names.filter(p -> Backend.isTemporary(p.getFileName().toString())).count(),
                    "the abandoned attempt removed its temporary file");
        }
        // the retry lands
        byte[] v3 = "version 3".getBytes();
        guarded.replace("model.bin", v3.length, FILE, bytes(v3), "peerfs-7");
        assertEquals("version 3", Files.readString(root.resolve("model.bin")));
    }

    @Test
    void aSlowUploadThatKeepsMovingIsNotCutOff() throws Exception {
        GuardedBackend guarded = new GuardedBackend(LocalDirBackend.open(root), root, Duration.ofMillis(300));
        byte[] data = new byte[6 << 20];
        new Random(5).nextBytes(data);
        Backend.Content slow = (off, dst) -> {
            try {
                Thread.sleep(100); // each MiB takes a third of the timeout: slower in all than the timeout
            } catch (InterruptedException e) {
                throw new IOException(e);
            }
            return bytes(data).read(off, dst);
        };
        long start = System.nanoTime();
        guarded.replace("big.bin", data.length, FILE, slow, "peerfs-8");
        assertTrue(System.nanoTime() - start > TimeUnit.MILLISECONDS.toNanos(300), "the test's premise");
        assertArrayEquals(data, Files.readAllBytes(root.resolve("big.bin")));
        assertEquals(0, guarded.stats().timeouts());
    }

    /** A store whose reads block until {@link #wake} is counted down, and that tells which buffers they got. */
    final class SlowReads extends ForwardingBackend {
        final CountDownLatch wake = new CountDownLatch(1);
        final java.util.List<ByteBuffer> buffers = new java.util.concurrent.CopyOnWriteArrayList<>();
        final AtomicInteger finished = new AtomicInteger();

        SlowReads() throws IOException {
            super(LocalDirBackend.open(root));
        }

        @Override
        public int read(String path, long offset, ByteBuffer dst) throws IOException {
            return slowly(dst, () -> super.read(path, offset, dst));
        }

        @Override
        public int readInto(String path, long offset, ByteBuffer dst) throws IOException {
            return slowly(dst, () -> super.readInto(path, offset, dst));
        }

        int slowly(ByteBuffer dst, java.util.concurrent.Callable<Integer> read) throws IOException {
            buffers.add(dst);
            try {
                wake.await();
                return read.call();
            } catch (IOException e) {
                throw e;
            } catch (Exception e) {
                throw new IOException(e);
            } finally {
                finished.incrementAndGet();
            }
        }
    }

    @Test
    void aLateReadNeverWritesIntoTheBufferItsCallerTookBack() throws Exception {
        Files.write(root.resolve("data.bin"), new byte[] {1, 2, 3, 4});
        SlowReads store = new SlowReads();
        GuardedBackend guarded = new GuardedBackend(store, root, Duration.ofMillis(200));
        ByteBuffer dst = ByteBuffer.allocateDirect(4);
        assertThrows(BackendUnavailableException.class, () -> guarded.read("data.bin", 0, dst));
        store.wake.countDown();
        for (int i = 0; i < 100 && store.finished.get() == 0; i++) {
            Thread.sleep(20);
        }
        assertEquals(1, store.finished.get(), "the abandoned read ran to its end");
        assertEquals(0, dst.getInt(0), "the late read landed in the backend thread's own buffer");
        assertTrue(store.buffers.get(0) != dst);
    }

    @Test
    void readIntoReadsStraightIntoTheGivenBufferAndStillTimesOut() throws Exception {
        Files.write(root.resolve("data.bin"), new byte[] {1, 2, 3, 4});
        SlowReads store = new SlowReads();
        GuardedBackend guarded = new GuardedBackend(store, root, Duration.ofMillis(200));
        ByteBuffer given = ByteBuffer.allocateDirect(4);
        assertThrows(BackendUnavailableException.class, () -> guarded.readInto("data.bin", 0, given));
        assertEquals(1, guarded.stats().timeouts());

        store.wake.countDown();
        ByteBuffer dst = ByteBuffer.allocateDirect(4);
        assertEquals(4, guarded.readInto("data.bin", 0, dst));
        assertEquals(4, dst.position());
        assertEquals(0x01020304, dst.getInt(0));
        assertTrue(store.buffers.get(1) == dst, "no buffer of the backend's own in between, no copy");
    }
}

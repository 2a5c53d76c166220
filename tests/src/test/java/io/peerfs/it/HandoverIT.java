package io.peerfs.it;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A running mount handed to a new daemon ({@code peerfs mount --libfuse none} on the same
 * mountpoint), or its daemon killed, while programs use it: fio reading with verification, a
 * writer appending to a scratch and a result file with fsync, and a reader holding a file open
 * see no error, every byte verified and every acknowledged write there afterwards.
 */
class HandoverIT {
    @TempDir
    static Path tmp;

    @BeforeAll
    static void fuse() {
        PeerFsMount.assumeFuse();
    }

    private static final int TIMES = 5;

    @Test
    void programsRunOnWhileTheMountIsHandedOverFiveTimes() throws Exception {
        Path backend = backend("backend");
        Path mnt = tmp.resolve("mnt");
        try (PeerFsMount m = new PeerFsMount(backend, mnt, tmp.resolve("cache"), "--libfuse", "none",
                "--result-paths", "out/**", "--chunk-size", "1MiB").mount();
             Workload w = new Workload(backend, mnt)) {
            long firstPid = m.pid();
            long pid = firstPid;
            for (int i = 0; i < TIMES; i++) {
                int before = w.acknowledged.get();
                // the third new daemon runs with other options: they are its own
                List<String> args = new ArrayList<>(List.of("mount", backend.toString(), mnt.toString(),
                        "--cache-dir", tmp.resolve("cache").toString(), "--libfuse", "none",
                        "--result-paths", "out/**", "--chunk-size", "1MiB"));
                if (i == 2) {
                    args.addAll(List.of("--readahead", "4", "--meta-ttl", "2s"));
                }
                PeerFsMount.Run r = PeerFsMount.peerfs(args.toArray(String[]::new));
                assertEquals(0, r.exit(), "hand-over " + i + ": " + r.err() + r.out());
                long now = m.pid();
                assertNotEquals(pid, now, "a new daemon serves");
                pid = now;
                w.awaitProgress(before, "hand-over " + i);
            }
            w.stopAndCheck();
            assertEquals(TIMES, m.status().path("daemon").path("handovers").asInt(), m.status().toString());
            assertBounded(pid);
            assertTrue(ProcessHandle.of(firstPid).isEmpty(), "the first daemon exited");
            // the last daemon has a supervisor of its own: a kill after the hand-overs is survived too
            m.kill9();
            awaitNewDaemon(m, pid);
            assertEquals(1, m.status().path("daemon").path("recoveries").asInt());
            assertEquals(TIMES, m.status().path("daemon").path("handovers").asInt());
            assertTrue(Files.readString(mnt.resolve("work/scratch.log")).startsWith("line 0\n"));
        }
    }

    /**
     * The same programs while the daemon is killed with SIGKILL five times: its supervisor
     * starts a new one, which takes the connection over and has the kernel send again what the
     * dead one had read. Then the supervisor is killed with the daemon: the mountpoint answers
     * ENOTCONN, never the node's own directory.
     */
    @Test
    void programsRunOnWhileTheDaemonIsKilledFiveTimes() throws Exception {
        Path backend = backend("backend-kill");
        Path mnt = tmp.resolve("mnt-kill");
        try (PeerFsMount m = new PeerFsMount(backend, mnt, tmp.resolve("cache-kill"), "--libfuse", "none",
                "--result-paths", "out/**", "--chunk-size", "1MiB").mount()) {
            long pid = m.pid();
            try (Workload w = new Workload(backend, mnt)) {
                for (int i = 0; i < TIMES; i++) {
                    int before = w.acknowledged.get();
                    m.kill9();
                    long now = awaitNewDaemon(m, pid);
                    pid = now;
                    w.awaitProgress(before, "kill " + i);
                }
                w.stopAndCheck();
            }
            assertEquals(TIMES, m.status().path("daemon").path("recoveries").asInt(), m.status().toString());
            String metrics = java.net.http.HttpClient.newHttpClient().send(java.net.http.HttpRequest.newBuilder(
                    java.net.URI.create(m.status().path("daemon").path("metrics").asText())).build(),
                    java.net.http.HttpResponse.BodyHandlers.ofString()).body();
            assertTrue(metrics.contains("peerfs_mount_recoveries " + TIMES + ".0"), metrics);
            assertBounded(pid);
            // the supervisor too: nothing keeps the connection, and the mount is not a plain directory
            long supervisor = ProcessHandle.of(pid).flatMap(ProcessHandle::parent).map(ProcessHandle::pid)
                    .orElseThrow();
            String cmdline = Files.readString(Path.of("/proc", Long.toString(supervisor), "cmdline"));
            assertTrue(List.of(cmdline.split("\0")).contains("supervise"), "the daemon's parent supervises: " + cmdline);
            PeerFsMount.command("kill", "-9", Long.toString(supervisor));
            m.kill9();
            IOException refused = org.junit.jupiter.api.Assertions.assertThrows(IOException.class,
                    () -> Files.writeString(mnt.resolve("after-both.txt"), "x"));
            assertTrue(String.valueOf(refused.getMessage()).contains("not connected")
                    || refused instanceof java.nio.file.FileSystemException, refused.toString());
            assertTrue(Files.notExists(backend.resolve("after-both.txt")));
            m.umount(); // and the sockets the killed processes left go with the mount
            try (var left = Files.list(Path.of("/run/peerfs"))) {
                String hash = Path.of(socketOf(mnt)).getFileName().toString().replace("handover-", "");
                assertEquals(List.of(), left.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(hash))
                        .toList());
            }
        }
    }

    /**
     * A write the kernel was told is done but that no fsync or close made durable yet is not
     * lost when the daemon dies: the next daemon does it again from the supervisor's journal.
     */
    @Test
    void aWriteAnsweredButNotYetDurableSurvivesAKill() throws Exception {
        Path backend = Files.createDirectories(tmp.resolve("backend-wal"));
        Files.createDirectories(backend.resolve("out"));
        Path mnt = tmp.resolve("mnt-wal");
        try (PeerFsMount m = new PeerFsMount(backend, mnt, tmp.resolve("cache-wal"), "--libfuse", "none",
                "--result-paths", "out/**").mount()) {
            Files.createDirectories(mnt.resolve("work"));
            byte[] big = TestFiles.random(3 << 20, 5); // more than one write request
            try (FileChannel scratch = FileChannel.open(mnt.resolve("work/f"), StandardOpenOption.CREATE,
                    StandardOpenOption.WRITE);
                 FileChannel result = FileChannel.open(mnt.resolve("out/f"), StandardOpenOption.CREATE,
                         StandardOpenOption.WRITE)) {
                for (FileChannel ch : List.of(scratch, result)) {
                    ch.write(ByteBuffer.wrap(big), 0);
                }
                long pid = m.pid();
                m.kill9();
                awaitNewDaemon(m, pid);
                for (FileChannel ch : List.of(scratch, result)) {
                    ch.write(ByteBuffer.wrap("tail".getBytes(StandardCharsets.US_ASCII)), big.length);
                    ch.force(true);
                }
            }
            byte[] want = java.util.Arrays.copyOf(big, big.length + 4);
            System.arraycopy("tail".getBytes(StandardCharsets.US_ASCII), 0, want, big.length, 4);
            assertArrayEquals(want, Files.readAllBytes(mnt.resolve("work/f")), "scratch");
            assertArrayEquals(want, Files.readAllBytes(mnt.resolve("out/f")), "result");
            assertArrayEquals(want, Files.readAllBytes(backend.resolve("out/f")), "result on the backend");
            assertEquals(1, m.status().path("daemon").path("recoveries").asInt());
        }
    }

    /** Where the daemon serving {@code mnt} offers it: /run/peerfs/handover- and a hash of the path. */
    private static String socketOf(Path mnt) throws Exception {
        java.security.MessageDigest sha = java.security.MessageDigest.getInstance("SHA-256");
        return "/run/peerfs/handover-" + java.util.HexFormat.of().formatHex(
                sha.digest(mnt.toString().getBytes(StandardCharsets.UTF_8)), 0, 8) + ".sock";
    }

    /** The next daemon's pid once one other than {@code dead} answers. */
    private static long awaitNewDaemon(PeerFsMount m, long dead) throws Exception {
        long deadline = System.nanoTime() + 60_000_000_000L;
        while (true) {
            try {
                long pid = m.pid();
                if (pid != dead) {
                    return pid;
                }
            } catch (IOException e) {
                // not answering yet
            }
            assertTrue(System.nanoTime() < deadline, "no new daemon 60 s after a kill");
            Thread.sleep(50);
        }
    }

    /** The daemon's descriptors and memory are bounded, as a first daemon's are. */
    private static void assertBounded(long pid) throws IOException {
        long fds;
        try (var s = Files.list(Path.of("/proc", Long.toString(pid), "fd"))) {
            fds = s.count();
        }
        assertTrue(fds < 400, fds + " descriptors");
        long rssKb = Files.readAllLines(Path.of("/proc", Long.toString(pid), "status")).stream()
                .filter(l -> l.startsWith("VmRSS:")).mapToLong(l -> Long.parseLong(l.replaceAll("\\D", "")))
                .findFirst().orElseThrow();
        assertTrue(rssKb < 1024 * 1024, rssKb + " KiB resident");
    }

    private static Path backend(String name) throws Exception {
        Path backend = Files.createDirectories(tmp.resolve(name));
        Files.createDirectories(backend.resolve("src"));
        Files.createDirectories(backend.resolve("out"));
        TestFiles.write(backend.resolve("src/held.bin"), TestFiles.random(HELD, 29));
        // fio's own files, with its checksums, written straight to the backend: sources to read
        for (String job : List.of("seq", "rnd")) {
            String out = fio(backend.resolve("src"), job, false);
            assertTrue(out.contains("err= 0"), out);
        }
        return backend;
    }

    private static final int HELD = 24 << 20;

    /**
     * fio reading with verification (sequential and random), a writer appending a line to a
     * scratch and a result file with fsync after each, a reader holding a file open: each
     * records its failures; {@link #stopAndCheck} asserts there were none and every
     * acknowledged line is in both files.
     */
    private static final class Workload implements AutoCloseable {
        final ConcurrentLinkedQueue<String> errors = new ConcurrentLinkedQueue<>();
        final AtomicBoolean done = new AtomicBoolean();
        final AtomicInteger acknowledged = new AtomicInteger();
        final AtomicInteger fioRuns = new AtomicInteger();
        final AtomicInteger heldReads = new AtomicInteger();
        final List<Thread> workers = new ArrayList<>();
        final Path backend;
        final Path mnt;

        Workload(Path backend, Path mnt) throws Exception {
            this.backend = backend;
            this.mnt = mnt;
            byte[] held = TestFiles.random(HELD, 29);
            Files.createDirectories(mnt.resolve("work"));
            workers.add(worker("writer", errors, () -> {
                try (FileChannel scratch = FileChannel.open(mnt.resolve("work/scratch.log"),
                        StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.APPEND);
                     FileChannel result = FileChannel.open(mnt.resolve("out/result.log"),
                             StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.APPEND)) {
                    for (int i = 0; !done.get(); i++) {
                        byte[] line = ("line " + i + "\n").getBytes(StandardCharsets.US_ASCII);
                        scratch.write(ByteBuffer.wrap(line));
                        result.write(ByteBuffer.wrap(line));
                        scratch.force(true);
                        result.force(true);
                        acknowledged.set(i + 1);
                        Thread.sleep(5);
                    }
                }
            }));
            workers.add(worker("held reader", errors, () -> {
                try (FileChannel ch = FileChannel.open(mnt.resolve("src/held.bin"))) {
                    ByteBuffer b = ByteBuffer.allocate(256 << 10);
                    for (long off = 0; !done.get(); off = (off + b.capacity()) % held.length) {
                        b.clear();
                        int n = ch.read(b, off);
                        byte[] want = java.util.Arrays.copyOfRange(held, (int) off,
                                (int) Math.min(held.length, off + b.capacity()));
                        assertEquals(want.length, n, "read at " + off);
                        assertArrayEquals(want, java.util.Arrays.copyOf(b.array(), n), "bytes at " + off);
                        heldReads.incrementAndGet();
                        Thread.sleep(2);
                    }
                }
            }));
            for (String job : List.of("seq", "rnd")) {
                workers.add(worker("fio " + job, errors, () -> {
                    while (!done.get()) {
                        String out = fio(mnt.resolve("src"), job, true);
                        assertTrue(out.contains("err= 0"), out);
                        fioRuns.incrementAndGet();
                    }
                }));
            }
            Thread.sleep(1000);
        }

        /** Waits until the writer was acknowledged again after an event; fails on any error so far. */
        void awaitProgress(int before, String after) throws InterruptedException {
            long deadline = System.nanoTime() + 60_000_000_000L;
            while (acknowledged.get() <= before + 10 && errors.isEmpty()) {
                assertTrue(System.nanoTime() < deadline, "no write acknowledged in 60 s after " + after);
                Thread.sleep(20);
            }
            assertTrue(errors.isEmpty(), "after " + after + ": " + errors);
        }

        void stopAndCheck() throws Exception {
            close();
            assertEquals(List.of(), List.copyOf(errors));
            assertTrue(fioRuns.get() >= 2 && heldReads.get() > 10, fioRuns + " fio runs, " + heldReads + " reads");
            // every acknowledged line is there, in order, in both files
            int n = acknowledged.get();
            assertHasLines(n, mnt.resolve("work/scratch.log"));
            assertHasLines(n, mnt.resolve("out/result.log"));
            assertHasLines(n, backend.resolve("out/result.log"));
        }

        @Override
        public void close() throws InterruptedException {
            done.set(true);
            for (Thread t : workers) {
                t.join(120_000);
            }
        }
    }

    /**
     * Only root takes a mount over: the socket's directory is root's alone (nobody cannot even
     * connect), a root process that sends anything but the request changes nothing, and a mount
     * that would not serve it with PeerFS's own loop is refused before the old daemon stops.
     */
    @Test
    void theHandOverSocketIsRootsAloneAndIgnoresAnythingElse() throws Exception {
        Path backend = Files.createDirectories(tmp.resolve("backend-sock"));
        Files.writeString(backend.resolve("a.txt"), "a");
        Path mnt = tmp.resolve("mnt-sock");
        try (PeerFsMount m = new PeerFsMount(backend, mnt, tmp.resolve("cache-sock"), "--libfuse", "none").mount()) {
            long pid = m.pid();
            String mountedAt = m.status().path("daemon").path("mountedAt").asText();
            String socket = socketOf(mnt);
            assertTrue(Files.exists(Path.of(socket)), socket);
            String connect = "import socket, sys\n"
                    + "s = socket.socket(socket.AF_UNIX)\n"
                    + "try:\n    s.connect(sys.argv[1])\nexcept OSError as e:\n    print(e.errno); sys.exit(3)\n"
                    + "s.sendall(sys.argv[2].encode()); s.shutdown(socket.SHUT_WR); s.recv(100)\n";
            PeerFsMount.Run nobody = PeerFsMount.command("runuser", "-u", "nobody", "--", "/usr/bin/python3", "-c",
                    connect, socket, "PEERFS-HANDOVER 1\n");
            assertEquals(3, nobody.exit(), nobody.out() + nobody.err());
            assertEquals("13", nobody.out().trim(), "EACCES for nobody");
            for (String junk : List.of("", "GET / HTTP/1.0\r\n\r\n", "PEERFS-HANDOVER 2\n")) {
                PeerFsMount.Run r = PeerFsMount.command("/usr/bin/python3", "-c", connect, socket, junk);
                assertEquals(0, r.exit(), r.out() + r.err());
            }
            PeerFsMount.Run libfuse3 = PeerFsMount.peerfs("mount", backend.toString(), mnt.toString(), "--cache-dir",
                    tmp.resolve("cache-sock").toString());
            assertNotEquals(0, libfuse3.exit());
            assertTrue(libfuse3.err().contains("--libfuse none"), libfuse3.err());
            assertEquals("a", Files.readString(mnt.resolve("a.txt")));
            assertEquals(pid, m.pid(), "the same daemon serves");
            assertEquals(0, m.status().path("daemon").path("handovers").asInt());
            // a root client that connects and says nothing holds the socket for a few seconds only
            String silent = "import socket, sys, time\n"
                    + "s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); time.sleep(120)\n";
            Process quiet = new ProcessBuilder("/usr/bin/python3", "-c", silent, socket).start();
            try {
                Thread.sleep(500);
                // and a real request still works after all that
                PeerFsMount.Run again = PeerFsMount.peerfs("mount", backend.toString(), mnt.toString(),
                        "--cache-dir", tmp.resolve("cache-sock").toString(), "--libfuse", "none");
                assertEquals(0, again.exit(), again.err());
            } finally {
                quiet.destroyForcibly();
            }
            assertNotEquals(pid, m.pid());
            assertEquals(mountedAt, m.status().path("daemon").path("mountedAt").asText(), "the mount is the same");
            assertEquals(1, m.status().path("daemon").path("handovers").asInt());
        }
    }

    /** {@code file} starts with the writer's first {@code n} lines. */
    private static void assertHasLines(int n, Path file) throws IOException {
        String got = Files.readString(file);
        String want = lines(n);
        if (!got.startsWith(want)) {
            int same = 0;
            while (same < Math.min(got.length(), want.length()) && got.charAt(same) == want.charAt(same)) {
                same++;
            }
            int from = Math.max(0, same - 40);
            throw new AssertionError(file + ": " + n + " lines acknowledged, the file differs at byte " + same
                    + ": has '" + got.substring(from, Math.min(got.length(), same + 40)).replace("\n", "|")
                    + "', wants '" + want.substring(from, Math.min(want.length(), same + 40)).replace("\n", "|")
                    + "'");
        }
    }

    private static String lines(int n) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < n; i++) {
            b.append("line ").append(i).append('\n');
        }
        return b.toString();
    }

    /** fio writing its files with checksums ({@code verify} false), or reading them back and checking every block. */
    static String fio(Path dir, String job, boolean verify) throws Exception {
        String rw = job.equals("seq") ? "write" : "randwrite";
        List<String> cmd = new ArrayList<>(List.of("fio", "--name=" + job, "--directory=" + dir,
                "--rw=" + (verify ? rw.replace("write", "read") : rw), "--bs=" + (job.equals("seq") ? "256k" : "4k"),
                "--size=16m", "--verify=crc32c", "--verify_state_save=0", "--verify_fatal=1"));
        // a read job with verify set checks every block it reads; direct I/O: every read reaches the daemon
        cmd.addAll(verify ? List.of("--direct=1") : List.of("--do_verify=0"));
        PeerFsMount.Run r = PeerFsMount.command(cmd.toArray(String[]::new));
        return r.out() + r.err();
    }

    @FunctionalInterface
    interface Work {
        void run() throws Exception;
    }

    private static Thread worker(String name, ConcurrentLinkedQueue<String> errors, Work work) {
        Thread t = new Thread(() -> {
            try {
                work.run();
            } catch (Throwable e) {
                errors.add(name + ": " + e);
            }
        }, name);
        t.start();
        return t;
    }
}

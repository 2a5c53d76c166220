package io.peerfs.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.io.TempDir;

/**
 * Independent workloads from Debian packages on a scratch directory ({@code data/}) and a
 * result directory ({@code out/}) of a real mount: fio writes verified with CRC32C (for
 * result files also straight on the backend), and stress-ng's file system stressors with
 * their own checks, from directories and renames to locks, links, mmap, holes and fallocate.
 */
class WorkloadIT {
    @TempDir
    static Path tmp;
    static PeerFsMount mount;

    @BeforeAll
    static void mountIt() throws Exception {
        PeerFsMount.assumeFuse();
        Files.createDirectories(tmp.resolve("backend/data"));
        Files.createDirectories(tmp.resolve("backend/out"));
        mount = new PeerFsMount(tmp.resolve("backend"), tmp.resolve("mnt"), tmp.resolve("cache"),
                "--result-paths", "out/**").mount();
    }

    @AfterAll
    static void unmount() throws Exception {
        if (mount != null) {
            mount.close();
        }
    }

    /** Samples one status field of the mount every 100 ms until stopped; keeps the largest value. */
    private static final class Sampler {
        volatile long most;
        private final java.util.concurrent.atomic.AtomicBoolean done = new java.util.concurrent.atomic.AtomicBoolean();
        private final Thread thread;

        Sampler(String section, String field) {
            thread = new Thread(() -> {
                while (!done.get()) {
                    try {
                        most = Math.max(most, mount.status().path(section).path(field).asLong());
                        Thread.sleep(100);
                    } catch (Exception e) {
                        return; // the caller's assertions see whether anything was sampled
                    }
                }
            });
            thread.start();
        }

        void stop() throws InterruptedException {
            done.set(true);
            thread.join();
        }
    }

    private static String run(long timeoutSeconds, String... cmd) throws Exception {
        assumeTrue(Files.isExecutable(Path.of("/usr/bin/" + cmd[0])), cmd[0] + " is not installed");
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        StringBuilder out = new StringBuilder();
        Thread reader = new Thread(() -> {
            try {
                out.append(new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
            } catch (java.io.IOException ignored) {
                // the process ended
            }
        });
        reader.start();
        if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError(cmd[0] + " did not finish in " + timeoutSeconds + " s");
        }
        reader.join();
        assertEquals(0, p.exitValue(), String.join(" ", cmd) + "\n" + out);
        return out.toString();
    }

    @ParameterizedTest(name = "in {0}/")
    @ValueSource(strings = {"data", "out"})
    void fioRandomAndSequentialWritesVerifyWithCrc32c(String top) throws Exception {
        Path dir = Files.createDirectories(mount.mountpoint.resolve(top + "/fio"));
        for (String rw : List.of("randwrite", "write")) {
            String out = run(300, "fio", "--name=verify-" + rw, "--directory=" + dir, "--rw=" + rw, "--bs=64k",
                    "--size=24m", "--numjobs=2", "--verify=crc32c", "--do_verify=1", "--verify_fatal=1",
                    // no <job>-verify.state files left in the test's working directory
                    "--verify_state_save=0",
                    "--group_reporting");
            assertTrue(out.contains("err= 0"), out);
        }
        Path onBackend = tmp.resolve("backend/" + top + "/fio");
        if (top.equals("data")) {
            assertTrue(Files.notExists(onBackend), "fio's files are scratch: nothing of them on the backend");
        } else {
            // the uploaded files themselves, read straight from the backend, carry fio's checksums
            String out = run(300, "fio", "--name=verify-write", "--directory=" + onBackend, "--rw=write",
                    "--bs=64k", "--size=24m", "--numjobs=2", "--verify=crc32c", "--verify_only", "--verify_fatal=1",
                    "--verify_state_save=0", "--group_reporting");
            assertTrue(out.contains("err= 0"), out);
        }
    }

    /**
     * Two files of 128 MiB written at random in pieces of 4 to 128 KiB, verified: more than the
     * dirty budget of a file, so chunks are sealed and written again while the file is open.
     * The cache's pinned bytes are sampled meanwhile and stay within twice the files' size.
     */
    @ParameterizedTest(name = "in {0}/")
    @ValueSource(strings = {"data", "out"})
    void randomWritesOfManySizesKeepPinnedSpaceNearTheFilesSize(String top) throws Exception {
        Path dir = Files.createDirectories(mount.mountpoint.resolve(top + "/random"));
        long files = 2 * (128L << 20);
        Sampler pinned = new Sampler("cache", "pinnedBytes");
        try {
            String out = run(600, "fio", "--name=random-sizes", "--directory=" + dir, "--rw=randwrite",
                    "--bsrange=4k-128k", "--size=128m", "--numjobs=2", "--verify=crc32c", "--do_verify=1",
                    "--verify_fatal=1", "--verify_state_save=0", "--group_reporting");
            assertTrue(out.contains("err= 0"), out);
        } finally {
            pinned.stop();
        }
        assertTrue(pinned.most > 0, "pinned bytes were sampled");
        assertTrue(pinned.most <= 2 * files, "pinned " + pinned.most + " bytes for " + files + " bytes of files");
        try (Stream<Path> left = Files.list(dir)) {
            for (Path f : left.toList()) {
                Files.delete(f);
            }
        }
    }

    /**
     * dbench's file server load (many files open and written at once, renames, unlinks,
     * locks) from 4 clients runs clean: no call fails, and the daemon never runs out of
     * off-heap memory (an open that found it exhausted failed with EIO: "Cannot reserve ...
     * bytes of direct buffer memory"). Its off-heap use is printed, sampled meanwhile.
     */
    @ParameterizedTest(name = "in {0}/")
    @ValueSource(strings = {"data", "out"})
    void dbenchRunsCleanWithoutExhaustingDirectMemory(String top) throws Exception {
        Path dir = Files.createDirectories(mount.mountpoint.resolve(top + "/dbench"));
        Sampler direct = new Sampler("daemon", "directMemoryBytes");
        String out;
        try {
            out = run(120, "dbench", "-D", dir.toString(), "-t", "10", "4");
        } finally {
            direct.stop();
        }
        System.out.printf("dbench 4 clients in %s/: off-heap buffers at most %d MiB (limit 256, garbage included)%n",
                top, direct.most >> 20);
        assertTrue(out.contains("Throughput"), out);
        // dbench reports a failed call as "... failed for handle ..." or "ERROR"
        assertTrue(out.lines().noneMatch(l -> l.contains(" failed for ") || l.contains("ERROR")), out);
        String log = Files.readString(mount.cacheDir.resolve("peerfs.log"));
        assertFalse(log.contains("OutOfMemoryError") || log.contains("Cannot reserve"), "off-heap memory ran out");
        assertEquals(0, mount.status().path("writeback").path("failures").asLong());
    }

    /** stress-ng's xattr stressor fills a file's xattr space each round: it must finish rounds. */
    @ParameterizedTest(name = "in {0}/")
    @ValueSource(strings = {"data", "out"})
    void theXattrStressorMakesProgress(String top) throws Exception {
        Path dir = Files.createDirectories(mount.mountpoint.resolve(top + "/xattr"));
        String out = run(60, "stress-ng", "--temp-path", dir.toString(), "--xattr", "1", "--timeout", "8s",
                "--metrics-brief");
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("xattr\\s+(\\d+)\\s").matcher(out);
        assertTrue(m.find(), out);
        assertTrue(Long.parseLong(m.group(1)) > 0, "bogo-ops in 8 s:\n" + out);
        assertTrue(out.contains("successful run completed"), out);
    }

    @ParameterizedTest(name = "in {0}/")
    @ValueSource(strings = {"data", "out"})
    void stressNgFileSystemStressorsPass(String top) throws Exception {
        Path dir = Files.createDirectories(mount.mountpoint.resolve(top + "/stress"));
        List<String> cmd = new ArrayList<>(List.of("stress-ng", "--temp-path", dir.toString(), "--timeout", "60s",
                "--dir", "1", "--dir-ops", "200", "--rename", "1", "--rename-ops", "500",
                "--hdd", "1", "--hdd-ops", "200", "--hdd-bytes", "8m", "--verify",
                "--xattr", "1", "--xattr-ops", "1", "--metrics-brief"));
        // POSIX conformance stressors, each with its own checks (modes, owners, times, links, locks,
        // seeks, holes, mmap, fallocate, copy_file_range, readahead, sync_file_range). Not "filename":
        // it creates names that are not UTF-8, which PeerFS cannot keep apart (README, known differences)
        for (String stressor : List.of("chmod", "chown", "dentry", "dirdeep", "fcntl", "fiemap", "flock",
                "fstat", "io", "link", "lockf", "open", "readahead", "seek", "symlink", "utime", "copy-file", "mmap",
                "fallocate", "iomix", "sync-file")) {
            cmd.addAll(List.of("--" + stressor, "1", "--" + stressor + "-ops", "30"));
        }
        String out = run(240, cmd.toArray(String[]::new));
        assertTrue(out.contains("successful run completed"), out);
        assertTrue(!out.contains("fail"), out);
        assertEquals(0, mount.status().path("writeback").path("failures").asLong());
    }
}

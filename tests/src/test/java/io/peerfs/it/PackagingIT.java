package io.peerfs.it;

import static io.peerfs.it.TestFiles.random;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.peerfs.it.PeerFsMount.Run;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

/**
 * The .deb as an operator uses it: {@code dpkg -i}, {@code mount -t peerfs}, an fstab line,
 * the systemd unit's command, Prometheus metrics, warmup and stats, then {@code dpkg -P}.
 * It changes the machine (installs the package), and always purges it again.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class PackagingIT {
    static final int MIB = 1 << 20;
    static final Path UNIT = Path.of("/lib/systemd/system/peerfs@.service");
    @TempDir
    static Path tmp;
    static Path deb;
    static Path backend;
    static byte[] first;
    static byte[] second;
    static final Path PIPE_MAX = Path.of("/proc/sys/fs/pipe-max-size");
    static String pipeMaxBefore;

    @BeforeAll
    static void findPackage() throws Exception {
        PeerFsMount.assumeFuse();
        assumeTrue(Files.isExecutable(Path.of("/usr/bin/dpkg")), "not a Debian machine");
        assumeTrue(Files.isExecutable(Path.of("/sbin/mount")) || Files.isExecutable(Path.of("/bin/mount")));
        try (Stream<Path> s = Files.list(PeerFsMount.ROOT.resolve("packaging/deb/target"))) {
            deb = s.filter(p -> p.getFileName().toString().matches("peerfs_.*_all\\.deb"))
                    .max(java.util.Comparator.comparingLong(p -> p.toFile().lastModified())) // the newest build
                    .orElseThrow(() -> new AssertionError("no .deb in packaging/deb/target: the build makes one"));
        }
        pipeMaxBefore = Files.readAllLines(PIPE_MAX).get(0).trim(); // readString sees one byte of a /proc file
        backend = Files.createDirectories(tmp.resolve("backend/data"));
        first = random(3 * MIB + 5, 1);
        second = random(2 * MIB, 2);
        TestFiles.write(backend.resolve("first.bin"), first);
        TestFiles.write(backend.resolve("second.bin"), second);
        backend = backend.getParent();
    }

    @AfterAll
    static void purge() throws Exception {
        if (deb != null) {
            for (String m : List.of("mnt-t", "mnt-fstab", "mnt-unit", "mnt-pod")) {
                while (!mountsAt(tmp.resolve(m)).isEmpty()) { // the FUSE mount, then a guard beneath
                    if (PeerFsMount.command("umount", "-l", tmp.resolve(m).toString()).exit() != 0) {
                        break;
                    }
                }
            }
            PeerFsMount.command("dpkg", "-P", "peerfs");
            if (pipeMaxBefore != null) {
                Files.writeString(PIPE_MAX, pipeMaxBefore); // what the machine had before the package raised it
            }
        }
    }

    static Run run(String... cmd) throws Exception {
        return PeerFsMount.command(cmd);
    }

    /** True when the PeerFS (FUSE) mount is at {@code mnt}. */
    static boolean isMounted(Path mnt) throws IOException {
        return mountsAt(mnt).stream().anyMatch(l -> l.contains(" - fuse.peerfs "));
    }

    private static List<String> mountsAt(Path mnt) throws IOException {
        return Files.readAllLines(Path.of("/proc/self/mountinfo")).stream()
                .filter(l -> l.split(" ")[4].equals(mnt.toString())).toList();
    }

    /**
     * True once nothing is mounted at {@code mnt} (within 10 s): after umount(8) returns, the
     * daemon notices, exits and takes its read-only guard away a moment later.
     */
    static boolean nothingMountedSoon(Path mnt) throws Exception {
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (!mountsAt(mnt).isEmpty() && System.nanoTime() < deadline) {
            Thread.sleep(50);
        }
        return mountsAt(mnt).isEmpty();
    }

    @Test
    @Order(1)
    void installsWithDpkg() throws Exception {
        Run install = run("dpkg", "-i", deb.toString());
        assertEquals(0, install.exit(), install.out() + install.err());
        Run version = run("/usr/bin/peerfs", "--version");
        assertEquals(0, version.exit(), version.err());
        assertTrue(version.out().startsWith("peerfs "), version.out());
        // postinst's class-data archive, trained with a real mount; the JVM maps it (or skips it silently)
        assertTrue(install.out().contains("class-data archive /usr/share/peerfs/lib/peerfs.jsa written (trained with"
                + " a mount)"), install.out() + install.err());
        Run shared = run("env", "PEERFS_JAVA_OPTS=-Xlog:class+load", "/usr/bin/peerfs", "--version");
        assertTrue(shared.out().contains("io.peerfs.cli.Main source: shared objects file (top)"), shared.out());
        assertTrue(Files.isExecutable(Path.of("/sbin/mount.peerfs")));
        assertTrue(Files.exists(Path.of("/etc/peerfs/peerfs.conf")));
        assertEquals(0600, (int) Files.getAttribute(Path.of("/etc/peerfs/peerfs.conf"), "unix:mode") & 0777,
                "the config file may hold a Redis password: root's alone");
        assertTrue(Files.exists(UNIT));
        // pipes that hold a 1 MiB read reply, now and (sysctl.d) after a reboot
        assertTrue(Files.readString(Path.of("/usr/lib/sysctl.d/60-peerfs.conf")).contains("fs.pipe-max-size = 2097152"));
        assertTrue(Long.parseLong(Files.readAllLines(PIPE_MAX).get(0).trim()) >= 2097152);
        Run status = run("dpkg-query", "-W", "-f=${Status} ${Depends}", "peerfs");
        assertTrue(status.out().startsWith("install ok installed"), status.out());
        assertTrue(status.out().contains("libfuse3-3") && status.out().contains("libfuse2")
                && status.out().contains("java17-runtime"), status.out());
    }

    @Test
    @Order(2)
    void mountTypePeerfsServesFilesMetricsWarmupAndStats() throws Exception {
        Path mnt = tmp.resolve("mnt-t");
        int port = Ports.free();
        Run mount = run("mount", "-t", "peerfs", backend.toString(), mnt.toString(), "-o",
                "_netdev,cache-dir=" + tmp.resolve("cache-t") + ",cache-size=256MiB,chunk-size=1MiB,meta-ttl=1s,"
                        + "metrics=127.0.0.1:" + port);
        assertEquals(0, mount.exit(), mount.out() + mount.err());
        assertTrue(isMounted(mnt));
        String log = Files.readString(tmp.resolve("cache-t/peerfs.log"));
        assertTrue(log.contains("effective configuration: ") && log.contains("cache-size=256MiB"), "logged once");

        assertArrayEquals(first, Files.readAllBytes(mnt.resolve("data/first.bin")));
        Run status = run("/usr/bin/peerfs", "status", "--json", mnt.toString());
        assertTrue(status.out().contains("\"readReplies\":\"spliced\""), "the package's pipe limit: " + status.out());
        String metrics = scrape(port);
        assertTrue(metric(metrics, "peerfs_backend_read_bytes_total") >= first.length, metrics);
        assertTrue(metric(metrics, "peerfs_cache_used_bytes") >= first.length, metrics);
        assertTrue(metric(metrics, "peerfs_fuse_op_seconds_count{op=\"read\",result=\"ok\"}") > 0, metrics);
        assertTrue(metric(metrics, "peerfs_process_resident_bytes") > 0, metrics);
        assertTrue(metric(metrics, "peerfs_fuse_spliced_read_bytes_total") >= 3 * MIB, metrics);

        Run check = run("/usr/bin/peerfs", "warmup", "--check", mnt.resolve("data").toString());
        assertEquals(0, check.exit(), check.err());
        assertTrue(check.out().contains("2 files") && check.out().contains("(60.0%)")
                && check.out().contains("1 files wholly cached"), check.out());
        Run warm = run("/usr/bin/peerfs", "warmup", "--threads", "2", mnt.resolve("data").toString());
        assertEquals(0, warm.exit(), warm.err());
        assertTrue(warm.out().contains("warmed 2 of 2 files"), warm.out());
        double backendBytes = metric(scrape(port), "peerfs_backend_read_bytes_total");
        assertTrue(backendBytes >= first.length + second.length, "warmup read the second file: " + backendBytes);
        check = run("/usr/bin/peerfs", "warmup", "--check", mnt.resolve("data").toString());
        assertTrue(check.out().contains("(100.0%)"), check.out());
        assertArrayEquals(second, Files.readAllBytes(mnt.resolve("data/second.bin")));
        assertEquals(backendBytes, metric(scrape(port), "peerfs_backend_read_bytes_total"),
                "a warm file is read from the cache");

        Run stats = run("/usr/bin/peerfs", "stats", "--count", "2", "--interval", "200ms", mnt.toString());
        assertEquals(0, stats.exit(), stats.err());
        assertEquals(3, stats.out().lines().count(), stats.out());
        assertTrue(stats.out().startsWith("time ") && stats.out().contains("5.0M"), "cache used: " + stats.out());

        Run bad = run("mount", "-t", "peerfs", backend.toString(), tmp.resolve("mnt-bad").toString(), "-o",
                "bogus=1");
        assertNotEquals(0, bad.exit());
        assertTrue(bad.err().contains("unknown option 'bogus'"), bad.err());

        long pid = new PeerFsMount(backend, mnt, tmp.resolve("cache-t")).pid();
        Run umount = run("umount", mnt.toString());
        assertEquals(0, umount.exit(), umount.err());
        assertTrue(nothingMountedSoon(mnt), "unmounted, the read-only guard too");
        ProcessHandle.of(pid).ifPresent(h -> h.onExit().orTimeout(30, TimeUnit.SECONDS).join());
    }

    @Test
    @Order(3)
    void fstabLineMountsWithMountMountpoint() throws Exception {
        Path mnt = Files.createDirectories(tmp.resolve("mnt-fstab"));
        Path fstab = Files.writeString(tmp.resolve("fstab"), backend + " " + mnt + " peerfs _netdev,nofail,"
                + "cache-dir=" + tmp.resolve("cache-fstab") + ",cache-size=64MiB,metrics=none 0 0\n");
        Run mount = run("mount", "-T", fstab.toString(), mnt.toString());
        assertEquals(0, mount.exit(), mount.out() + mount.err());
        assertArrayEquals(second, Files.readAllBytes(mnt.resolve("data/second.bin")));
        Run umount = run("umount", mnt.toString());
        assertEquals(0, umount.exit(), umount.err());
        assertTrue(nothingMountedSoon(mnt), "unmounted, the read-only guard too");
    }

    @Test
    @Order(4)
    void systemdUnitVerifiesAndItsCommandMountsUntilSigterm() throws Exception {
        String unit = Files.readString(UNIT);
        for (String needed : List.of("Restart=on-failure", "Type=notify", "After=network-online.target",
                "WantedBy=")) {
            assertTrue(unit.contains(needed), needed);
        }
        Path dir = Files.createDirectories(tmp.resolve("units"));
        Files.writeString(dir.resolve("peerfs@ci.service"), unit);
        assertTrue(Files.isExecutable(Path.of("/usr/bin/systemd-analyze")), "bin/install-deps installs systemd");
        Run verify = run("systemd-analyze", "verify", dir.resolve("peerfs@ci.service").toString());
        assertEquals(0, verify.exit(), verify.out() + verify.err());
        assertFalse(verify.err().contains("peerfs@ci.service:"), "no warnings about the unit: " + verify.err());
        // no systemd runs here: start the unit's ExecStart as systemd would, stop it as systemd does
        Matcher exec = Pattern.compile("(?m)^ExecStart=(.*)$").matcher(unit);
        assertTrue(exec.find());
        String name = "it" + ProcessHandle.current().pid();
        Path conf = Path.of("/etc/peerfs/" + name + ".conf");
        Path mnt = tmp.resolve("mnt-unit");
        Files.writeString(conf, "backend = " + backend + "\nmountpoint = " + mnt + "\ncache-dir = "
                + tmp.resolve("cache-unit") + "\ncache-size = 64MiB\nmetrics = none\n");
        List<String> cmd = new ArrayList<>(List.of(exec.group(1).replace("%i", name).split(" ")));
        Process daemon = new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectOutput(tmp.resolve("unit.log").toFile()).start();
        try {
            long deadline = System.nanoTime() + 60_000_000_000L;
            while (!isMounted(mnt) && daemon.isAlive() && System.nanoTime() < deadline) {
                Thread.sleep(100);
            }
            assertTrue(isMounted(mnt), "mounted; output: " + Files.readString(tmp.resolve("unit.log")));
            assertArrayEquals(first, Files.readAllBytes(mnt.resolve("data/first.bin")));
            daemon.destroy(); // SIGTERM, as systemctl stop
            assertTrue(daemon.waitFor(60, TimeUnit.SECONDS), "the daemon exits on SIGTERM");
            assertTrue(mountsAt(mnt).isEmpty(), "and unmounts, the read-only guard too");
            assertTrue(Files.readString(tmp.resolve("unit.log")).contains("effective configuration"),
                    "logs go to stdout, which systemd sends to the journal");
        } finally {
            daemon.destroyForcibly();
            Files.deleteIfExists(conf);
        }
    }

    /** The DaemonSet's container without Docker: its entry point, readiness probe and preStop hook on this host. */
    @Test
    @Order(5)
    void containerEntryPointProbeAndPreStopWork() throws Exception {
        Path mnt = tmp.resolve("mnt-pod");
        ProcessBuilder pb = new ProcessBuilder("bash", PeerFsMount.ROOT.resolve("packaging/container/peerfs-node.sh")
                .toString()).redirectErrorStream(true).redirectOutput(tmp.resolve("pod.log").toFile());
        pb.environment().put("PEERFS_BACKEND", backend.toString());
        pb.environment().put("PEERFS_MOUNTPOINT", mnt.toString());
        pb.environment().put("PEERFS_CACHE_DIR", tmp.resolve("cache-pod").toString());
        pb.environment().put("PEERFS_CACHE_SIZE", "64MiB");
        pb.environment().put("PEERFS_METRICS", "127.0.0.1:0");
        Process pod = pb.start();
        try {
            long deadline = System.nanoTime() + 60_000_000_000L;
            Run probe;
            do {
                Thread.sleep(200);
                probe = run("/usr/bin/peerfs", "status", mnt.toString()); // the readiness probe's command
            } while (probe.exit() != 0 && pod.isAlive() && System.nanoTime() < deadline);
            assertEquals(0, probe.exit(), "ready; pod output: " + Files.readString(tmp.resolve("pod.log")));
            assertArrayEquals(second, Files.readAllBytes(mnt.resolve("data/second.bin")));
            Run preStop = run("/usr/bin/peerfs", "umount", "--lazy", mnt.toString());
            assertEquals(0, preStop.exit(), preStop.err());
            assertTrue(pod.waitFor(60, TimeUnit.SECONDS), "the pod's process ends after the preStop unmount");
            assertTrue(mountsAt(mnt).isEmpty(), "unmounted, the read-only guard too");
            assertNotEquals(0, run("/usr/bin/peerfs", "status", mnt.toString()).exit(), "not ready once unmounted");
        } finally {
            pod.destroyForcibly();
        }
    }

    @Test
    @Order(6)
    void removesCleanly() throws Exception {
        Run remove = run("dpkg", "-r", "peerfs");
        assertEquals(0, remove.exit(), remove.out() + remove.err());
        assertFalse(Files.exists(Path.of("/usr/bin/peerfs")));
        assertFalse(Files.exists(Path.of("/sbin/mount.peerfs")));
        assertFalse(Files.exists(UNIT));
        assertFalse(Files.exists(Path.of("/usr/share/peerfs/lib")), "prerm removes the class-data archive");
        assertTrue(Files.exists(Path.of("/etc/peerfs/peerfs.conf")), "dpkg -r keeps the config file");
        Run purge = run("dpkg", "-P", "peerfs");
        assertEquals(0, purge.exit(), purge.out() + purge.err());
        assertFalse(Files.exists(Path.of("/etc/peerfs/peerfs.conf")));
    }

    static String scrape(int port) throws Exception {
        HttpResponse<String> r = HttpClient.newHttpClient().send(
                HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/metrics")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(200, r.statusCode());
        return r.body();
    }

    /** The value of one sample ({@code name} or {@code name{labels}}) in Prometheus text. */
    static double metric(String text, String sample) {
        for (String line : text.lines().toList()) {
            if (line.startsWith(sample + " ")) {
                return Double.parseDouble(line.substring(sample.length() + 1).trim());
            }
        }
        throw new AssertionError("no sample " + sample + " in:\n" + text);
    }
}

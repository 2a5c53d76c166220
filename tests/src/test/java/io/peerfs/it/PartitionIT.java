package io.peerfs.it;

import static io.peerfs.it.TestFiles.random;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two daemons in two network namespaces joined by a veth pair, so the network between them
 * can be cut while both keep running and keep their mounts (the namespaces hold only the
 * network: the mounts are the host's). While cut, each node reads every byte correctly
 * from the backend within a bounded time; once joined again they fetch from each other.
 */
class PartitionIT {
    static final int CHUNK = 1 << 20;
    static final String[] NS = {"peerfs-part-a", "peerfs-part-b"};
    static final String[] IP = {"10.213.0.1", "10.213.0.2"};
    static final String[] LINK = {"pfa", "pfb"};
    static final int PORT = 7611;
    @TempDir
    Path tmp;
    final List<PeerFsMount> nodes = new ArrayList<>();

    @AfterEach
    void tearDown() throws Exception {
        for (PeerFsMount n : nodes) {
            n.close();
        }
        for (String ns : NS) {
            PeerFsMount.command("ip", "netns", "del", ns);
        }
    }

    @Test
    void aCutBetweenTwoNodesCostsTimeNeverBytesAndHealsWhenJoinedAgain() throws Exception {
        PeerFsMount.assumeFuse();
        for (String ns : NS) {
            PeerFsMount.command("ip", "netns", "del", ns); // left by a killed run
            sh("ip", "netns", "add", ns);
            sh("ip", "-n", ns, "link", "set", "lo", "up");
        }
        sh("ip", "link", "add", LINK[0], "netns", NS[0], "type", "veth", "peer", "name", LINK[1], "netns", NS[1]);
        for (int i = 0; i < 2; i++) {
            sh("ip", "-n", NS[i], "addr", "add", IP[i] + "/24", "dev", LINK[i]);
            sh("ip", "-n", NS[i], "link", "set", LINK[i], "up");
        }
        Path backend = Files.createDirectories(tmp.resolve("backend"));
        Path secret = TestFiles.secret(tmp.resolve("secret"), "a partition test secret of 32+ bytes\n");
        for (int i = 0; i < 2; i++) {
            PeerFsMount n = new PeerFsMount(backend, tmp.resolve("mnt" + i), tmp.resolve("cache" + i));
            PeerFsMount.Run r = PeerFsMount.command("nsenter", "--net=/run/netns/" + NS[i],
                    PeerFsMount.LAUNCHER.toString(), "mount", backend.toString(), n.mountpoint.toString(),
                    "--cache-dir", n.cacheDir.toString(), "--chunk-size", "1MiB", "--listen", IP[i] + ":" + PORT,
                    "--peers", IP[0] + ":" + PORT + "," + IP[1] + ":" + PORT, "--secret-file", secret.toString(),
                    "--peer-timeout", "2s");
            assertEquals(0, r.exit(), "mount in " + NS[i] + ": " + r.err() + r.out());
            nodes.add(n);
        }

        List<byte[]> joined = dataset(backend, "joined", 0);
        readAll(nodes.get(0), "joined", joined);
        readAll(nodes.get(1), "joined", joined);
        assertTrue(fetched(1) > 0, "joined, the second reader fetches the first one's chunks from it");

        // a slow peer: the first node's side of the link sends 32 KB/s (tbf; this kernel has no netem),
        // so a chunk it serves would take half a minute: the --peer-timeout bounds the wait
        sh("tc", "-n", NS[0], "qdisc", "add", "dev", LINK[0], "root", "tbf", "rate", "256kbit", "burst", "16kbit",
                "latency", "1s");
        List<byte[]> slow = dataset(backend, "slow", 50);
        long slowFallbacks = fallbacks(1);
        long start = System.nanoTime();
        readAll(nodes.get(1), "slow", slow);
        long slowSeconds = TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - start);
        assertTrue(fallbacks(1) > slowFallbacks, "chunks the slow peer owns came from the backend");
        assertTrue(slowSeconds < 60, "a slow peer costs its timeout, not its pace: " + slowSeconds + " s");
        sh("tc", "-n", NS[0], "qdisc", "del", "dev", LINK[0], "root");
        Thread.sleep(11_000); // a peer that failed is skipped for up to 10 s

        sh("ip", "-n", NS[0], "link", "set", LINK[0], "down"); // the cut
        List<byte[]> cut = dataset(backend, "cut", 100);
        long fallbacks = fallbacks(0) + fallbacks(1);
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try {
            var a = pool.submit(() -> readAll(nodes.get(0), "cut", cut));
            var b = pool.submit(() -> readAll(nodes.get(1), "cut", cut));
            a.get(120, TimeUnit.SECONDS); // bounded: a --peer-timeout, then the peer is skipped
            b.get(120, TimeUnit.SECONDS);
        } finally {
            pool.shutdownNow();
        }
        assertTrue(fallbacks(0) + fallbacks(1) > fallbacks, "chunks owned across the cut came from the backend");

        sh("ip", "-n", NS[0], "link", "set", LINK[0], "up"); // joined again
        Thread.sleep(11_000); // a peer that failed is skipped for up to 10 s
        List<byte[]> healed = dataset(backend, "healed", 200);
        long before = fetched(1);
        readAll(nodes.get(0), "healed", healed);
        readAll(nodes.get(1), "healed", healed);
        assertTrue(fetched(1) > before, "healed, the nodes fetch from each other again");
    }

    private static List<byte[]> dataset(Path backend, String dir, long seed) throws Exception {
        List<byte[]> files = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            byte[] data = random(6 * CHUNK + 7 * i, seed + i);
            TestFiles.write(backend.resolve(dir + "/f" + i), data);
            files.add(data);
        }
        return files;
    }

    private static Void readAll(PeerFsMount n, String dir, List<byte[]> files) throws Exception {
        for (int i = 0; i < files.size(); i++) {
            assertArrayEquals(files.get(i), Files.readAllBytes(n.mountpoint.resolve(dir + "/f" + i)),
                    n.mountpoint + "/" + dir + "/f" + i);
        }
        return null;
    }

    private long fetched(int node) throws Exception {
        return nodes.get(node).status().path("peers").path("bytesFetched").asLong();
    }

    private long fallbacks(int node) throws Exception {
        return nodes.get(node).status().path("peers").path("fallbacks").asLong();
    }

    private static void sh(String... cmd) throws Exception {
        PeerFsMount.Run r = PeerFsMount.command(cmd);
        assertEquals(0, r.exit(), String.join(" ", cmd) + ": " + r.err());
    }
}

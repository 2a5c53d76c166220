package io.peerfs.it;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

/**
 * The shared namespace through Redis Sentinel, with Debian's redis-server and redis-sentinel
 * on 127.0.0.1: a master, one replica, three sentinels. Two daemons create, rename and unlink
 * scratch files while the master is killed; after the failover they carry on against the new
 * master, and every change they acknowledged (with {@code --meta-replicas 1}) is there. A
 * change the replica does not confirm (it is stopped) fails, though the master has it.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class SentinelIT {
    static final String MASTER = "peerfs";
    /** What a writer records for a name it removed (compared by identity). */
    static final byte[] GONE = new byte[0];
    @TempDir
    static Path tmp;
    static final List<Process> processes = new ArrayList<>();
    static Process master;
    static Process replica;
    static int masterPort;
    static final List<Integer> sentinels = new ArrayList<>();
    static final List<PeerFsMount> nodes = new ArrayList<>();

    @BeforeAll
    static void start() throws Exception {
        PeerFsMount.assumeFuse();
        masterPort = Ports.free();
        int replicaPort = Ports.free();
        master = redis("master", "--port", Integer.toString(masterPort));
        replica = redis("replica", "--port", Integer.toString(replicaPort), "--replicaof", "127.0.0.1", Integer.toString(masterPort));
        awaitTrue("the replica in sync", () -> info(masterPort, "replication").contains("state=online"));
        for (int i = 0; i < 3; i++) {
            int port = Ports.free();
            Path conf = Files.createDirectories(tmp.resolve("sentinel" + i)).resolve("sentinel.conf");
            Files.writeString(conf, String.join("\n", "port " + port, "bind 127.0.0.1", "dir " + conf.getParent(),
                    "sentinel monitor " + MASTER + " 127.0.0.1 " + masterPort + " 2",
                    "sentinel down-after-milliseconds " + MASTER + " 1000",
                    "sentinel failover-timeout " + MASTER + " 10000", "") + "\n");
            processes.add(new ProcessBuilder("redis-sentinel", conf.toString()).redirectErrorStream(true)
                    .redirectOutput(conf.resolveSibling("sentinel.log").toFile()).start());
            sentinels.add(port);
        }
        for (int port : sentinels) { // each knows the replica and the other two sentinels before the test
            awaitTrue("sentinel " + port + " knows its peers", () -> {
                String s = command(port, "SENTINEL", "MASTER", MASTER);
                return s.contains("num-slaves\r\n$1\r\n1") && s.contains("num-other-sentinels\r\n$1\r\n2");
            });
        }
        Path backend = Files.createDirectories(tmp.resolve("backend"));
        Path secret = TestFiles.secret(tmp.resolve("secret"), "sentinel test secret, sixteen+ bytes\n");
        String url = "redis-sentinel://127.0.0.1:" + sentinels.get(0) + ",127.0.0.1:" + sentinels.get(1) + ",127.0.0.1:"
                + sentinels.get(2) + "/0#" + MASTER;
        List<String> listen = List.of("127.0.0.1:" + Ports.free(), "127.0.0.1:" + Ports.free());
        for (int i = 0; i < 2; i++) {
            nodes.add(new PeerFsMount(backend, tmp.resolve("mnt" + i), tmp.resolve("cache" + i), "--meta", url,
                    "--meta-replicas", "1", "--listen", listen.get(i), "--peers", String.join(",", listen),
                    "--node-id", "node" + i, "--secret-file", secret.toString(), "--meta-ttl", "0s").mount());
        }
    }

    @AfterAll
    static void stop() throws Exception {
        for (PeerFsMount n : nodes) {
            n.close();
        }
        for (Process p : processes) {
            p.destroyForcibly();
            p.waitFor(10, TimeUnit.SECONDS);
        }
    }

    @Test
    @Order(1)
    void aChangeTheReplicaDoesNotConfirmFailsAndTheMasterHasIt() throws Exception {
        Path file = nodes.get(0).mountpoint.resolve("unconfirmed");
        stopProcess(replica, "STOP"); // alive to the master (still connected), but confirms nothing
        try {
            long t0 = System.nanoTime();
            IOException e = assertThrows(IOException.class, () -> Files.write(file, "x".getBytes()));
            long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
            System.out.println("SentinelIT: an unconfirmed create failed after " + ms + " ms: " + e);
        } finally {
            stopProcess(replica, "CONT");
        }
        assertTrue(Files.exists(file), "the master has the change that failed");
        Files.write(file, "y".getBytes()); // and once the replica confirms again, changes return
        assertArrayEquals("y".getBytes(), Files.readAllBytes(file));
    }

    private static void stopProcess(Process p, String signal) throws Exception {
        assertEquals(0, new ProcessBuilder("kill", "-" + signal, Long.toString(p.pid())).start().waitFor());
    }

    @Test
    @Order(2)
    void acknowledgedChangesSurviveTheMastersDeathAndTheDaemonsCarryOn() throws Exception {
        // what each writer was told is done: name -> bytes (present) or GONE (removed); names whose
        // last call failed are left out, since a failed call may or may not have been applied
        List<Map<String, byte[]>> acknowledged = List.of(new ConcurrentHashMap<>(), new ConcurrentHashMap<>());
        List<AtomicInteger> doneAfterKill = List.of(new AtomicInteger(), new AtomicInteger());
        AtomicBoolean killed = new AtomicBoolean();
        AtomicBoolean stop = new AtomicBoolean();
        AtomicInteger failures = new AtomicInteger();
        ExecutorService pool = Executors.newFixedThreadPool(2);
        List<Future<?>> writers = new ArrayList<>();
        for (int w = 0; w < 2; w++) {
            int writer = w;
            writers.add(pool.submit(() -> {
                write(nodes.get(writer).mountpoint.resolve("w" + writer), acknowledged.get(writer),
                        () -> { if (killed.get()) { doneAfterKill.get(writer).incrementAndGet(); } }, stop, failures);
                return null;
            }));
        }
        try {
            awaitTrue("both writers under way", () -> acknowledged.get(0).size() > 200 && acknowledged.get(1).size() > 200);
            master.destroyForcibly(); // SIGKILL: no goodbye to anyone
            master.waitFor(10, TimeUnit.SECONDS);
            killed.set(true);
            awaitTrue("a sentinel promoted the replica", () -> !command(sentinels.get(0), "SENTINEL",
                    "GET-MASTER-ADDR-BY-NAME", MASTER).contains(Integer.toString(masterPort)), 60);
            awaitTrue("both daemons carry on against the new master",
                    () -> doneAfterKill.get(0).get() > 200 && doneAfterKill.get(1).get() > 200, 60);
        } finally {
            stop.set(true);
            for (Future<?> f : writers) {
                f.get(60, TimeUnit.SECONDS);
            }
            pool.shutdownNow();
        }
        for (int w = 0; w < 2; w++) {
            for (PeerFsMount reader : nodes) { // seen alike from the writer's node and the other
                Path dir = reader.mountpoint.resolve("w" + w);
                for (Map.Entry<String, byte[]> e : acknowledged.get(w).entrySet()) {
                    Path p = dir.resolve(e.getKey());
                    if (e.getValue() == GONE) {
                        assertFalse(Files.exists(p), p + " was removed and acknowledged");
                    } else {
                        assertArrayEquals(e.getValue(), Files.readAllBytes(p), p + " was written and acknowledged");
                    }
                }
            }
        }
        System.out.println("SentinelIT: acknowledged " + acknowledged.get(0).size() + " + " + acknowledged.get(1).size()
                + " names, " + failures.get() + " calls failed during the failover");
    }

    /**
     * Until {@code stop}: creates {@code fN}, renames every third to {@code gN}, removes every
     * fifth; records each acknowledged outcome in {@code acknowledged} and calls {@code done}.
     */
    private static void write(Path dir, Map<String, byte[]> acknowledged, Runnable done, AtomicBoolean stop,
                              AtomicInteger failures) throws InterruptedException {
        while (!stop.get()) {
            try {
                Files.createDirectories(dir);
                break;
            } catch (IOException e) {
                Thread.sleep(50);
            }
        }
        for (int i = 0; !stop.get(); i++) {
            String name = "f" + i;
            byte[] data = ("file " + i + " of " + dir + "\n").getBytes(StandardCharsets.UTF_8);
            try {
                Files.write(dir.resolve(name), data);
                acknowledged.put(name, data);
                if (i % 3 == 0) {
                    acknowledged.remove(name);
                    Files.move(dir.resolve(name), dir.resolve("g" + i), StandardCopyOption.ATOMIC_MOVE);
                    acknowledged.put(name, GONE);
                    acknowledged.put("g" + i, data);
                }
                if (i % 5 == 0 && i > 0) {
                    String old = (i - 5) % 3 == 0 ? "g" + (i - 5) : "f" + (i - 5);
                    if (acknowledged.containsKey(old) && acknowledged.get(old) != GONE) {
                        acknowledged.remove(old);
                        Files.delete(dir.resolve(old));
                        acknowledged.put(old, GONE);
                    }
                }
                done.run();
            } catch (NoSuchFileException e) {
                failures.incrementAndGet(); // its create failed before: nothing to say about it
            } catch (IOException e) {
                failures.incrementAndGet();
                Thread.sleep(50);
            }
        }
    }

    private static Process redis(String name, String... args) throws IOException {
        Path dir = Files.createDirectories(tmp.resolve(name));
        List<String> cmd = new ArrayList<>(List.of("redis-server", "--bind", "127.0.0.1", "--dir", dir.toString(),
                "--save", "", "--appendonly", "no", "--protected-mode", "no"));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(dir.resolve("redis.log").toFile())
                .start();
        processes.add(p);
        return p;
    }

    /** One command over RESP; the raw answer (enough to look for a field in it). */
    private static String command(int port, String... words) throws IOException {
        try (Socket s = new Socket("127.0.0.1", port)) {
            s.setSoTimeout(5000);
            StringBuilder req = new StringBuilder("*" + words.length + "\r\n");
            for (String w : words) {
                req.append('$').append(w.length()).append("\r\n").append(w).append("\r\n");
            }
            s.getOutputStream().write(req.toString().getBytes(StandardCharsets.UTF_8));
            byte[] buf = new byte[65536];
            Thread.sleep(50); // one answer, small: what arrives first is all of it
            int n = s.getInputStream().read(buf);
            return n < 0 ? "" : new String(buf, 0, n, StandardCharsets.UTF_8);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException(e);
        }
    }

    private static String info(int port, String section) throws IOException {
        return command(port, "INFO", section);
    }

    @FunctionalInterface
    interface Check {
        boolean holds() throws Exception;
    }

    private static void awaitTrue(String what, Check check) throws Exception {
        awaitTrue(what, check, 30);
    }

    private static void awaitTrue(String what, Check check, int seconds) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (true) {
            try {
                if (check.holds()) {
                    return;
                }
            } catch (IOException notYet) {
                // not listening yet
            }
            if (System.nanoTime() > deadline) {
                throw new AssertionError("not within " + seconds + " s: " + what);
            }
            Thread.sleep(100);
        }
    }

    /** A free port outside the ephemeral range, so an outgoing connection cannot take it first. */
}

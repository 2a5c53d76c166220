package io.peerfs.meta.redis;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * A real {@code redis-server} (Debian's package) on 127.0.0.1 and a free port, for tests:
 * no persistence unless asked, killed on {@link #close()}. {@link #stop()} and {@link #start()}
 * take it away and bring it back on the same port, for tests of a lost connection.
 */
public final class RedisServer implements AutoCloseable {
    private final Path dir;
    private final int port;
    private final boolean persistent;
    private Process process;

    private RedisServer(Path dir, int port, boolean persistent) {
        this.dir = dir;
        this.port = port;
        this.persistent = persistent;
    }

    /** Starts a server whose files live under {@code dir}, keeping nothing across restarts. */
    public static RedisServer start(Path dir) throws IOException, InterruptedException {
        return start(dir, false);
    }

    /**
     * Starts a server whose files live under {@code dir}; a {@code persistent} one writes every
     * change to its append-only file, so a restart finds the data again.
     */
    public static RedisServer start(Path dir, boolean persistent) throws IOException, InterruptedException {
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        RedisServer r = new RedisServer(Files.createDirectories(dir), port, persistent);
        r.start();
        return r;
    }

    public void start() throws IOException, InterruptedException {
        process = new ProcessBuilder("redis-server", "--port", Integer.toString(port), "--bind", "127.0.0.1",
                "--dir", dir.toString(), "--save", "", "--appendonly", persistent ? "yes" : "no", "--appendfsync",
                "always", "--protected-mode", "no")
                .redirectErrorStream(true).redirectOutput(dir.resolve("redis.log").toFile()).start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (System.nanoTime() < deadline) {
            try (Socket s = new Socket("127.0.0.1", port)) {
                return;
            } catch (IOException notYet) {
                if (!process.isAlive()) {
                    throw new IOException("redis-server exited: " + Files.readString(dir.resolve("redis.log")));
                }
                Thread.sleep(20);
            }
        }
        throw new IOException("redis-server did not listen on port " + port + " within 10 s");
    }

    /** Kills the server; clients see a lost connection. */
    public void stop() throws InterruptedException {
        process.destroyForcibly();
        process.waitFor(10, TimeUnit.SECONDS);
    }

    public int port() {
        return port;
    }

    /** {@code redis://127.0.0.1:PORT/db}. */
    public String url(int db) {
        return "redis://127.0.0.1:" + port + "/" + db;
    }

    @Override
    public void close() throws InterruptedException {
        stop();
    }
}

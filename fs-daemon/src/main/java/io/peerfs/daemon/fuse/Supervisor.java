package io.peerfs.daemon.fuse;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Crash recovery for a mount served by PeerFS's own FUSE loop. A small process started by the
 * daemon ({@code peerfs supervise}) holds duplicates of the {@code /dev/fuse} descriptor and of
 * the node journal ({@link NodeJournal}); it outlives the daemon. When the daemon dies without
 * saying goodbye (kill -9, OOM kill, a crash), the supervisor starts a new one, which gets both
 * descriptors ({@link #recover}), reads the connection's state from the journal, asks the
 * kernel to send again what the dead daemon had read but not answered, and serves on: programs
 * see a pause. A daemon that exits on purpose (unmount, hand-over) says {@code BYE} first and the
 * supervisor exits with it.
 *
 * <p>Messages on the socket are four ASCII bytes, descriptors attached: {@code FDS } (fuse,
 * journal), {@code JNL } (a compacted journal), {@code GET } (a recovering daemon asks for
 * them), {@code BYE }; every one is answered {@code OK  } (or with {@code FDS }).
 */
public final class Supervisor {
    private static final Logger log = LoggerFactory.getLogger(Supervisor.class);
    /** Environment variable that tells a daemon started by the supervisor where to recover from. */
    public static final String RECOVER_ENV = "PEERFS_RECOVER";
    private static final byte[] FDS = tag("FDS ");
    private static final byte[] JNL = tag("JNL ");
    private static final byte[] GET = tag("GET ");
    private static final byte[] BYE = tag("BYE ");
    private static final byte[] OK = tag("OK  ");
    /** At most this many restarts in {@link #RESTART_WINDOW_MS}; then the mount is given up. */
    static final int MAX_RESTARTS = 5;
    static final long RESTART_WINDOW_MS = 60_000;
    /** How long a started daemon may take to ask for the descriptors. */
    private static final long START_TIMEOUT_MS = 60_000;

    private Supervisor() {
    }

    private static byte[] tag(String s) {
        return s.getBytes(StandardCharsets.US_ASCII);
    }

    /** The socket of the supervisor of {@code mountpoint}. */
    public static Path socketOf(Path mountpoint) {
        String handover = Handover.socketOf(mountpoint).getFileName().toString();
        return UnixSocket.DIR.resolve(handover.replace("handover-", "supervise-"));
    }

    /** A daemon's connection to its supervisor. */
    public static final class Link implements AutoCloseable {
        private final int conn;
        private boolean closed;

        Link(int conn) {
            this.conn = conn;
        }

        /** Gives the supervisor the connection's descriptor and the journal. */
        synchronized void hold(int fuseFd, int journalFd) throws IOException {
            UnixSocket.send(conn, FDS, fuseFd, journalFd);
            answered();
        }

        /** Gives the supervisor a compacted journal in place of the one it holds. */
        synchronized void replace(int journalFd) throws IOException {
            UnixSocket.send(conn, JNL, journalFd);
            answered();
        }

        private void answered() throws IOException {
            if (!java.util.Arrays.equals(UnixSocket.readFully(conn, 4), OK)) {
                throw new IOException("the supervisor answered something else");
            }
        }

        /** The daemon stops on purpose: the supervisor lets go and exits. */
        public synchronized void bye() {
            if (closed) {
                return;
            }
            try {
                UnixSocket.send(conn, BYE);
                UnixSocket.readFully(conn, 4);
            } catch (IOException e) {
                log.debug("supervisor gone before goodbye: {}", e.toString());
            }
            close();
        }

        @Override
        public synchronized void close() {
            if (!closed) {
                closed = true;
                DevFuse.c().close(conn);
            }
        }
    }

    /**
     * Starts the supervisor of {@code mountpoint} ({@code command} runs it) and connects to it.
     *
     * @throws IOException when it did not come up
     */
    public static Link start(Path mountpoint, List<String> command, Path logFile) throws IOException {
        Path socket = socketOf(mountpoint);
        Process p = new ProcessBuilder(command).directory(new File("/"))
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                .redirectOutput(ProcessBuilder.Redirect.appendTo(logFile.toFile()))
                .redirectErrorStream(true).start();
        long deadline = System.nanoTime() + 30_000_000_000L;
        while (p.isAlive() && System.nanoTime() < deadline) {
            if (java.nio.file.Files.exists(socket)) {
                int conn = UnixSocket.connect(socket);
                if (conn >= 0) {
                    return new Link(conn);
                }
            }
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        p.destroy();
        throw new IOException("the supervisor did not start (see " + logFile + ")");
    }

    /** What a recovering daemon gets: the connection's state (its descriptor in it) and the link to keep. */
    public record Recovered(Handover.State state, Link link) {
    }

    /** Asks the supervisor that started this daemon for the connection of the daemon that died. */
    public static Recovered recover(Path socket) throws IOException {
        int conn = UnixSocket.connect(socket);
        if (conn < 0) {
            throw new IOException(DevFuse.failure("no supervisor at " + socket));
        }
        Link link = new Link(conn);
        try {
            UnixSocket.send(conn, GET);
            int[] fds = new int[2];
            byte[] answer = UnixSocket.receive(conn, 4, fds);
            if (!java.util.Arrays.equals(answer, FDS) || fds[0] < 0 || fds[1] < 0) {
                throw new IOException("the supervisor holds no connection");
            }
            try {
                Handover.State s = NodeJournal.read(fds[1], fds[0]);
                return new Recovered(s, link);
            } finally {
                DevFuse.c().close(fds[1]);
            }
        } catch (IOException | RuntimeException e) {
            link.close();
            throw e;
        }
    }

    /**
     * The supervisor's life: holds what the daemon gives it, and starts {@code relaunch} (with
     * {@link #RECOVER_ENV}) when the daemon dies while the mount is there. Returns the exit code.
     */
    public static int run(Path mountpoint, List<String> relaunch, Path logFile) {
        Path socket = socketOf(mountpoint);
        UnixSocket.Listener listener;
        try {
            listener = UnixSocket.listen(socket);
        } catch (IOException e) {
            say("cannot listen: " + e.getMessage());
            return 1;
        }
        int server = listener.fd();
        int fuseFd = -1;
        int journalFd = -1;
        Deque<Long> restarts = new ArrayDeque<>();
        Process child = null;
        try {
            while (true) {
                int conn = acceptDaemon(server, child);
                if (conn < 0) {
                    if (fuseFd < 0) {
                        say("no daemon connected; exiting");
                        return 1;
                    }
                } else {
                    try {
                        while (true) {
                            int[] fds = new int[2];
                            byte[] t = UnixSocket.receive(conn, 4, fds);
                            if (java.util.Arrays.equals(t, FDS) && fds[0] >= 0 && fds[1] >= 0) {
                                fuseFd = replace(fuseFd, fds[0]);
                                journalFd = replace(journalFd, fds[1]);
                                UnixSocket.writeAll(conn, OK);
                            } else if (java.util.Arrays.equals(t, JNL) && fds[0] >= 0) {
                                journalFd = replace(journalFd, fds[0]);
                                UnixSocket.writeAll(conn, OK);
                            } else if (java.util.Arrays.equals(t, GET) && fuseFd >= 0) {
                                UnixSocket.send(conn, FDS, fuseFd, journalFd);
                            } else if (java.util.Arrays.equals(t, BYE)) {
                                UnixSocket.writeAll(conn, OK);
                                return 0;
                            } else {
                                closeAll(fds);
                                say("unexpected message " + new String(t, StandardCharsets.US_ASCII).trim());
                            }
                        }
                    } catch (IOException e) {
                        // the daemon is gone: its socket closed without a goodbye
                    } finally {
                        DevFuse.c().close(conn);
                    }
                }
                if (fuseFd < 0) {
                    say("the daemon died before it gave the connection; nothing to recover");
                    return 1;
                }
                if (!mounted(mountpoint)) {
                    say(mountpoint + " is no longer mounted; exiting");
                    return 0;
                }
                long now = System.currentTimeMillis();
                while (!restarts.isEmpty() && now - restarts.peekFirst() > RESTART_WINDOW_MS) {
                    restarts.removeFirst();
                }
                if (restarts.size() >= MAX_RESTARTS) {
                    say("the daemon died " + MAX_RESTARTS + " times in " + RESTART_WINDOW_MS / 1000
                            + " s; giving up: " + mountpoint + " answers ENOTCONN until 'peerfs umount'");
                    return 1;
                }
                restarts.addLast(now);
                say("the daemon of " + mountpoint + " died; starting a new one to take its connection over");
                child = relaunch(relaunch, socket, logFile);
                if (child == null) {
                    return 1;
                }
            }
        } finally {
            listener.close();
            if (fuseFd >= 0) {
                DevFuse.c().close(fuseFd);
            }
            if (journalFd >= 0) {
                DevFuse.c().close(journalFd);
            }
        }
    }

    /** The next daemon that connects as root; -1 when a started one died or never came. */
    private static int acceptDaemon(int server, Process child) {
        long deadline = System.currentTimeMillis() + START_TIMEOUT_MS;
        while (true) {
            if (child != null) {
                // a started daemon that dies before connecting must not leave this waiting for ever
                if (!child.isAlive() || System.currentTimeMillis() > deadline) {
                    if (!readable(server, 0)) {
                        return -1;
                    }
                } else if (!readable(server, 200)) {
                    continue;
                }
            }
            int conn = UnixSocket.accept(server);
            if (conn < 0) {
                return -1;
            }
            try {
                if (UnixSocket.peerUid(conn) == 0) {
                    return conn;
                }
            } catch (IOException e) {
                // gone meanwhile
            }
            DevFuse.c().close(conn);
        }
    }

    private static boolean readable(int fd, int timeoutMs) {
        com.kenai.jffi.MemoryIO m = com.kenai.jffi.MemoryIO.getInstance();
        long pfd = m.allocateMemory(8, true);
        try {
            m.putInt(pfd, fd);
            m.putInt(pfd + 4, DevFuse.POLLIN);
            return DevFuse.c().poll(pfd, 1, timeoutMs) > 0;
        } finally {
            m.freeMemory(pfd);
        }
    }

    private static Process relaunch(List<String> command, Path socket, Path logFile) {
        try {
            ProcessBuilder b = new ProcessBuilder(command).directory(new File("/"))
                    .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(logFile.toFile())).redirectErrorStream(true);
            b.environment().put(RECOVER_ENV, socket.toString());
            return b.start();
        } catch (IOException e) {
            say("cannot start a new daemon: " + e.getMessage());
            return null;
        }
    }

    private static boolean mounted(Path mountpoint) {
        try {
            return MountTable.find(mountpoint).map(MountTable.Mount::isPeerFs).orElse(false);
        } catch (IOException e) {
            return true;
        }
    }

    private static int replace(int old, int fd) {
        if (old >= 0 && old != fd) {
            DevFuse.c().close(old);
        }
        return fd;
    }

    private static void closeAll(int[] fds) {
        for (int fd : fds) {
            if (fd >= 0) {
                DevFuse.c().close(fd);
            }
        }
    }

    private static void say(String line) {
        System.err.println(Instant.now() + " peerfs supervise: " + line);
    }
}

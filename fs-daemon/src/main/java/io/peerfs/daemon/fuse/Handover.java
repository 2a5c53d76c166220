package io.peerfs.daemon.fuse;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Passing a live FUSE connection from one daemon to the next: the serving daemon listens on a
 * unix socket named after its mountpoint ({@link #socketOf}); a new {@code peerfs mount} on
 * that mountpoint connects ({@link #take}), the old one stops, closes its files and stores,
 * and sends the {@code /dev/fuse} descriptor (SCM_RIGHTS) with the {@link State} of the
 * connection; the new one serves from there. Only root may connect: the socket's directory
 * is root's alone, and the peer's credentials are checked as well.
 */
public final class Handover {
    private static final Logger log = LoggerFactory.getLogger(Handover.class);
    private static final byte[] ASK = "PEERFS-HANDOVER 1\n".getBytes(StandardCharsets.US_ASCII);
    private static final int MAGIC = 0x50464831; // "PFH1"
    /** How long a connection may take to ask, and later to confirm. */
    private static final int ASK_SECONDS = 5;
    /** Largest state accepted: a node table of a few million entries. */
    static final int MAX_STATE = 256 << 20;

    /** A handle the kernel holds: its node, how it was opened and by whom. */
    public record OpenHandle(long fh, long node, int flags, boolean dir, int uid, int gid) {
    }

    /** A write answered to the kernel by a daemon that died before it was durable: done again. */
    public record PendingWrite(long fh, long seq, long offset, byte[] data) {
    }

    /**
     * What the new daemon needs: the descriptor, INIT's outcome, the node table and the open
     * handles; and the mount's history (hand-overs so far, this one counted, and when it was made).
     */
    public record State(int fd, KernelFuse.Session session, List<NodeTable.Entry> nodes, long nextNode, long nextFh,
                        List<OpenHandle> handles, int handovers, int recoveries, long mountedAtMs,
                        List<PendingWrite> writes) {
        public State(int fd, KernelFuse.Session session, List<NodeTable.Entry> nodes, long nextNode, long nextFh,
                     List<OpenHandle> handles, int handovers, int recoveries, long mountedAtMs) {
            this(fd, session, nodes, nextNode, nextFh, handles, handovers, recoveries, mountedAtMs, List.of());
        }

        /** This state with the mount's history. */
        public State withHistory(int handedOver, int recovered, long mountedAt) {
            return new State(fd, session, nodes, nextNode, nextFh, handles, handedOver, recovered, mountedAt, writes);
        }

        /** This state with writes to do again (a hand-over has none: the old daemon committed everything). */
        State withWrites(List<PendingWrite> w) {
            return new State(fd, session, nodes, nextNode, nextFh, handles, handovers, recoveries, mountedAtMs, w);
        }

        /** The paths of the files open for writing: their staged data must wait for them. */
        public java.util.Set<String> writtenPaths() {
            NodeTable t = new NodeTable();
            t.restore(nodes);
            java.util.Set<String> paths = new java.util.HashSet<>();
            for (OpenHandle h : handles) {
                String p = t.path(h.node());
                if (!h.dir() && (h.flags() & 3) != 0 && p != null) {
                    paths.add(p);
                }
            }
            return paths;
        }
    }

    private Handover() {
    }

    /** The socket on which the daemon serving {@code mountpoint} hands it over. */
    public static Path socketOf(Path mountpoint) {
        try {
            byte[] h = MessageDigest.getInstance("SHA-256")
                    .digest(mountpoint.toAbsolutePath().normalize().toString().getBytes(StandardCharsets.UTF_8));
            return UnixSocket.DIR.resolve("handover-" + HexFormat.of().formatHex(h, 0, 8) + ".sock");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is part of every JDK", e);
        }
    }

    /** Removes the socket names of an unmounted {@code mountpoint} that killed processes left. */
    public static void forget(Path mountpoint) {
        for (Path p : List.of(socketOf(mountpoint), Supervisor.socketOf(mountpoint))) {
            try {
                Files.deleteIfExists(p);
            } catch (IOException e) {
                log.debug("cannot remove {}: {}", p, e.toString());
            }
        }
    }

    /** True when a daemon serving {@code mountpoint} offers it (its socket answers). */
    public static boolean offered(Path mountpoint) {
        Path s = socketOf(mountpoint);
        if (!Files.exists(s)) {
            return false;
        }
        int fd = UnixSocket.connect(s);
        if (fd < 0) {
            return false;
        }
        DevFuse.c().close(fd);
        return true;
    }

    static byte[] encode(State s) {
        try {
            ByteArrayOutputStream bytes = new ByteArrayOutputStream();
            DataOutputStream out = new DataOutputStream(bytes);
            out.writeInt(MAGIC);
            out.writeInt(s.session().minor());
            out.writeInt(s.session().maxWrite());
            out.writeInt(s.session().flags());
            out.writeLong(s.nextNode());
            out.writeLong(s.nextFh());
            out.writeInt(s.nodes().size());
            for (NodeTable.Entry e : s.nodes()) {
                out.writeLong(e.id());
                out.writeLong(e.parent());
                out.writeUTF(e.name());
                out.writeLong(e.lookups());
            }
            out.writeInt(s.handles().size());
            for (OpenHandle h : s.handles()) {
                out.writeLong(h.fh());
                out.writeLong(h.node());
                out.writeInt(h.flags());
                out.writeBoolean(h.dir());
                out.writeInt(h.uid());
                out.writeInt(h.gid());
            }
            out.writeInt(s.handovers());
            out.writeInt(s.recoveries());
            out.writeLong(s.mountedAtMs());
            out.flush();
            return bytes.toByteArray();
        } catch (IOException e) {
            throw new IllegalStateException("writing to memory", e);
        }
    }

    /** The state in {@code bytes}, with the descriptor {@code fd}; refuses anything malformed. */
    static State decode(byte[] bytes, int fd) throws IOException {
        DataInputStream in = new DataInputStream(new ByteArrayInputStream(bytes));
        if (in.readInt() != MAGIC) {
            throw new IOException("not a PeerFS hand-over (another version of the daemon?)");
        }
        KernelFuse.Session session = new KernelFuse.Session(in.readInt(), in.readInt(), in.readInt());
        if (session.maxWrite() <= 0 || session.maxWrite() > KernelFuse.MAX_WRITE) {
            throw new IOException("hand-over with a request size of " + session.maxWrite());
        }
        long nextNode = in.readLong();
        long nextFh = in.readLong();
        int count = in.readInt();
        if (count < 0 || count > bytes.length / 8) {
            throw new IOException("hand-over with " + count + " nodes");
        }
        List<NodeTable.Entry> nodes = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            nodes.add(new NodeTable.Entry(in.readLong(), in.readLong(), in.readUTF(), in.readLong()));
        }
        count = in.readInt();
        if (count < 0 || count > bytes.length / 8) {
            throw new IOException("hand-over with " + count + " handles");
        }
        List<OpenHandle> handles = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            handles.add(new OpenHandle(in.readLong(), in.readLong(), in.readInt(), in.readBoolean(), in.readInt(),
                    in.readInt()));
        }
        return new State(fd, session, nodes, nextNode, nextFh, handles, in.readInt(), in.readInt(), in.readLong());
    }

    /** What a serving daemon does when asked to hand over: stop and return its state. */
    @FunctionalInterface
    public interface Giver {
        State stop() throws Exception;
    }

    /**
     * Listens for a new daemon on {@code mountpoint}'s socket; the first one that asks gets the
     * connection (after {@code giver} stopped this daemon), and {@code done} runs.
     */
    public static AutoCloseable listen(Path mountpoint, Giver giver, Runnable done) throws IOException {
        Path path = socketOf(mountpoint);
        UnixSocket.Listener server = UnixSocket.listen(path);
        java.util.concurrent.atomic.AtomicBoolean closing = new java.util.concurrent.atomic.AtomicBoolean();
        Thread t = new Thread(() -> serve(server, giver, done, closing), "peerfs-handover");
        t.setDaemon(true);
        t.start();
        return () -> {
            if (closing.compareAndSet(false, true)) {
                server.close(); // the daemon unmounts: no socket is left behind
            }
        };
    }

    private static void serve(UnixSocket.Listener server, Giver giver, Runnable done,
                              java.util.concurrent.atomic.AtomicBoolean closing) {
        DevFuse.Calls c = DevFuse.c();
        try {
            while (true) {
                int conn = UnixSocket.accept(server.fd());
                if (conn < 0) {
                    if (!closing.get()) {
                        log.warn("{}", DevFuse.failure("hand-over socket"));
                    }
                    return;
                }
                try {
                    if (give(conn, giver)) {
                        done.run();
                        return;
                    }
                } finally {
                    c.close(conn);
                }
            }
        } finally {
            if (closing.compareAndSet(false, true)) {
                server.close();
            }
        }
    }

    /** Serves one connection; true once the connection went to it. */
    private static boolean give(int conn, Giver giver) {
        try {
            int uid = UnixSocket.peerUid(conn);
            if (uid != 0) {
                log.warn("hand-over refused to uid {}: only root may take the mount over", uid);
                return false;
            }
            // a client that connects and says nothing must not keep the next daemon out
            UnixSocket.readTimeout(conn, ASK_SECONDS);
            byte[] ask;
            try {
                ask = UnixSocket.readFully(conn, ASK.length);
            } catch (IOException e) {
                return false; // a probe ({@link #offered}): it connects and closes
            }
            if (!java.util.Arrays.equals(ask, ASK)) {
                log.warn("hand-over socket: a request that is not a PeerFS daemon's; ignored");
                return false;
            }
            log.info("a new daemon asks for this mount: handing it over");
            State s = giver.stop();
            byte[] body = encode(s);
            byte[] framed = new byte[4 + body.length];
            java.nio.ByteBuffer.wrap(framed).putInt(body.length).put(body);
            UnixSocket.send(conn, framed, s.fd());
            byte[] ack = UnixSocket.readFully(conn, 1);
            log.info("handed over ({} nodes, {} open handles){}", s.nodes().size(), s.handles().size(),
                    ack[0] == 1 ? "" : "; the new daemon did not confirm");
            return true;
        } catch (Exception e) {
            log.error("hand-over failed: {}", e.toString());
            return false;
        }
    }

    /**
     * Asks the daemon serving {@code mountpoint} for its connection; returns it, or throws when
     * there is none or it refused. The old daemon has closed its stores when this returns.
     */
    public static State take(Path mountpoint) throws IOException {
        closeFilesOn(mountpoint);
        Path path = socketOf(mountpoint);
        int conn = UnixSocket.connect(path);
        if (conn < 0) {
            throw new IOException(DevFuse.failure("no daemon to take " + mountpoint + " over from (" + path + ")"));
        }
        DevFuse.Calls c = DevFuse.c();
        try {
            UnixSocket.writeAll(conn, ASK);
            int[] fd = {-1};
            byte[] head = UnixSocket.receive(conn, 4, fd);
            int length = java.nio.ByteBuffer.wrap(head).getInt();
            if (fd[0] < 0) {
                throw new IOException("the daemon serving " + mountpoint + " sent no FUSE descriptor");
            }
            if (length < 0 || length > MAX_STATE) {
                c.close(fd[0]);
                throw new IOException("hand-over state of " + length + " bytes");
            }
            State s;
            try {
                s = decode(UnixSocket.readFully(conn, length), fd[0]);
            } catch (IOException e) {
                c.close(fd[0]);
                throw e;
            }
            UnixSocket.writeAll(conn, new byte[] {1});
            return s;
        } finally {
            c.close(conn);
        }
    }

    /**
     * Closes this process's descriptors of files in the mount (inherited from the shell that
     * started it): closing one sends the kernel's FLUSH, which would wait for ever between the
     * old daemon stopping and this one serving (a child process that closes inherited
     * descriptors, as Java's process launcher does, would hang this daemon's start).
     */
    private static void closeFilesOn(Path mountpoint) {
        String mnt = mountpoint.toAbsolutePath().normalize().toString();
        try (java.util.stream.Stream<Path> fds = Files.list(Path.of("/proc/self/fd"))) {
            for (Path fd : fds.toList()) {
                try {
                    int n = Integer.parseInt(fd.getFileName().toString());
                    String target = Files.readSymbolicLink(fd).toString();
                    if (n > 2 && (target.equals(mnt) || target.startsWith(mnt + "/"))) {
                        DevFuse.c().close(n);
                        log.info("closed descriptor {} of {}, inherited from the process that started this one", n,
                                target);
                    }
                } catch (IOException | NumberFormatException e) {
                    // gone meanwhile, or not a number
                }
            }
        } catch (IOException e) {
            log.warn("cannot list this process's descriptors: {}", e.toString());
        }
    }

}

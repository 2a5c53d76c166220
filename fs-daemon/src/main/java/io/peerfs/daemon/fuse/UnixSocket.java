package io.peerfs.daemon.fuse;

import com.kenai.jffi.MemoryIO;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;

/**
 * Unix stream sockets through libc, for what Java's channels cannot do: pass file descriptors
 * (SCM_RIGHTS) and tell who is at the other end (SO_PEERCRED). Used between daemons handing a
 * mount over and between a daemon and its supervisor; their sockets live in a directory only
 * root may enter ({@link #DIR}).
 */
final class UnixSocket {
    static final Path DIR = Path.of("/run/peerfs");
    private static final int AF_UNIX = 1;
    private static final int SOCK_STREAM = 1;
    private static final int SOCK_CLOEXEC = 0x80000;
    private static final int SOL_SOCKET = 1;
    private static final int SO_PEERCRED = 17;
    private static final int SO_RCVTIMEO = 20;
    private static final int SCM_RIGHTS = 1;
    private static final int MSG_CMSG_CLOEXEC = 0x40000000;
    /** Most descriptors one message carries. */
    static final int MAX_FDS = 4;

    private UnixSocket() {
    }

    /** A listening socket at {@code path} (replacing one a dead process left), in root's directory. */
    static Listener listen(Path path) throws IOException {
        Files.createDirectories(DIR);
        Files.setPosixFilePermissions(DIR, PosixFilePermissions.fromString("rwx------"));
        Files.deleteIfExists(path);
        DevFuse.Calls c = DevFuse.c();
        int server = c.socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (server < 0) {
            throw new IOException(DevFuse.failure("socket"));
        }
        try (Native addr = sockaddr(path)) {
            if (c.bind(server, addr.address, addr.length) != 0 || c.listen(server, 4) != 0) {
                String why = DevFuse.failure("listen on " + path);
                c.close(server);
                throw new IOException(why);
            }
        }
        return new Listener(server, path, Files.getAttribute(path, "unix:ino"));
    }

    /** A listening socket, the name it is bound to and that name's inode. */
    record Listener(int fd, Path path, Object inode) {
        /**
         * Closes the socket and removes its name, unless another process bound the name since
         * (a daemon or supervisor that took over): the name is theirs then.
         */
        void close() {
            DevFuse.c().shutdown(fd, 2); // wakes a thread waiting in accept
            DevFuse.c().close(fd);
            try {
                if (inode != null && inode.equals(Files.getAttribute(path, "unix:ino"))) {
                    Files.deleteIfExists(path);
                }
            } catch (IOException | UnsupportedOperationException e) {
                // gone already, or left for the next listener, which replaces it
            }
        }
    }

    /** The next connection; -1 when the socket failed (it is logged by the caller). */
    static int accept(int server) {
        while (true) {
            int conn = DevFuse.c().accept4(server, 0, 0, SOCK_CLOEXEC);
            if (conn >= 0 || DevFuse.errno() != DevFuse.EINTR) {
                return conn;
            }
        }
    }

    /** A connection to {@code path}, or -1. */
    static int connect(Path path) {
        DevFuse.Calls c = DevFuse.c();
        int fd = c.socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            return -1;
        }
        try (Native addr = sockaddr(path)) {
            if (c.connect(fd, addr.address, addr.length) != 0) {
                c.close(fd);
                return -1;
            }
        }
        return fd;
    }

    /** Reads on {@code conn} fail after {@code seconds} without a byte (SO_RCVTIMEO). */
    static void readTimeout(int conn, int seconds) throws IOException {
        try (Native tv = new Native(16)) {
            MemoryIO.getInstance().putLong(tv.address, seconds); // struct timeval {tv_sec; tv_usec}
            if (DevFuse.c().setsockopt(conn, SOL_SOCKET, SO_RCVTIMEO, tv.address, 16) != 0) {
                throw new IOException(DevFuse.failure("SO_RCVTIMEO"));
            }
        }
    }

    /** The uid of the process at the other end ({@code struct ucred}: pid, uid, gid). */
    static int peerUid(int conn) throws IOException {
        try (Native cred = new Native(12); Native len = new Native(4)) {
            MemoryIO.getInstance().putInt(len.address, 12);
            if (DevFuse.c().getsockopt(conn, SOL_SOCKET, SO_PEERCRED, cred.address, len.address) != 0) {
                throw new IOException(DevFuse.failure("SO_PEERCRED"));
            }
            return MemoryIO.getInstance().getInt(cred.address + 4);
        }
    }

    /** {@code struct sockaddr_un}: family, then the path. */
    private static Native sockaddr(Path path) {
        byte[] p = path.toString().getBytes(StandardCharsets.UTF_8);
        if (p.length >= 108) {
            throw new IllegalArgumentException("socket path too long: " + path);
        }
        Native n = new Native(2 + p.length + 1);
        MemoryIO m = MemoryIO.getInstance();
        m.putShort(n.address, (short) AF_UNIX);
        m.putByteArray(n.address + 2, p, 0, p.length);
        m.putByte(n.address + 2 + p.length, (byte) 0);
        return n;
    }

    /** sendmsg with {@code fds} in one SCM_RIGHTS message, then the rest of {@code bytes}. */
    static void send(int conn, byte[] bytes, int... fds) throws IOException {
        if (fds.length > MAX_FDS || bytes.length == 0) {
            throw new IllegalArgumentException(fds.length + " descriptors with " + bytes.length + " bytes");
        }
        MemoryIO m = MemoryIO.getInstance();
        int cmsgLength = 16 + 4 * fds.length;
        int cmsgSpace = (cmsgLength + 7) & ~7;
        try (Native msg = new Native(56); Native iov = new Native(16); Native control = new Native(cmsgSpace);
             Native data = new Native(bytes.length)) {
            m.putByteArray(data.address, bytes, 0, bytes.length);
            m.putLong(iov.address, data.address);
            m.putLong(iov.address + 8, bytes.length);
            m.putLong(msg.address + 16, iov.address);
            m.putLong(msg.address + 24, 1);
            if (fds.length > 0) {
                m.putLong(control.address, cmsgLength);
                m.putInt(control.address + 8, SOL_SOCKET);
                m.putInt(control.address + 12, SCM_RIGHTS);
                for (int i = 0; i < fds.length; i++) {
                    m.putInt(control.address + 16 + 4L * i, fds[i]);
                }
                m.putLong(msg.address + 32, control.address);
                m.putLong(msg.address + 40, cmsgSpace);
            }
            long sent;
            do {
                sent = DevFuse.c().sendmsg(conn, msg.address, 0);
            } while (sent < 0 && DevFuse.errno() == DevFuse.EINTR);
            if (sent < 0) {
                throw new IOException(DevFuse.failure("sendmsg"));
            }
            if (sent < bytes.length) {
                writeAll(conn, java.util.Arrays.copyOfRange(bytes, (int) sent, bytes.length));
            }
        }
    }

    /**
     * recvmsg of exactly {@code n} bytes and the descriptors that came with the first of them
     * (into {@code fds}, the rest -1); a peer that sends more descriptors than fit has them closed.
     */
    static byte[] receive(int conn, int n, int[] fds) throws IOException {
        java.util.Arrays.fill(fds, -1);
        MemoryIO m = MemoryIO.getInstance();
        int controlSize = 16 + 4 * MAX_FDS + 8;
        try (Native msg = new Native(56); Native iov = new Native(16); Native control = new Native(controlSize);
             Native data = new Native(n)) {
            m.putLong(iov.address, data.address);
            m.putLong(iov.address + 8, n);
            m.putLong(msg.address + 16, iov.address);
            m.putLong(msg.address + 24, 1);
            m.putLong(msg.address + 32, control.address);
            m.putLong(msg.address + 40, controlSize);
            long got;
            do {
                got = DevFuse.c().recvmsg(conn, msg.address, MSG_CMSG_CLOEXEC);
            } while (got < 0 && DevFuse.errno() == DevFuse.EINTR);
            if (got <= 0) {
                throw new IOException(got == 0 ? "the other end closed the socket" : DevFuse.failure("recvmsg"));
            }
            long controlLength = m.getLong(msg.address + 40);
            if (controlLength >= 16 && m.getInt(control.address + 8) == SOL_SOCKET
                    && m.getInt(control.address + 12) == SCM_RIGHTS) {
                int count = (int) Math.min(MAX_FDS, (m.getLong(control.address) - 16) / 4);
                for (int i = 0; i < count; i++) {
                    int fd = m.getInt(control.address + 16 + 4L * i);
                    if (i < fds.length) {
                        fds[i] = fd;
                    } else {
                        DevFuse.c().close(fd);
                    }
                }
            }
            byte[] out = new byte[n];
            m.getByteArray(data.address, out, 0, (int) got);
            if (got < n) {
                byte[] rest = readFully(conn, n - (int) got);
                System.arraycopy(rest, 0, out, (int) got, rest.length);
            }
            return out;
        }
    }

    static void writeAll(int fd, byte[] bytes) throws IOException {
        try (Native buf = new Native(Math.max(1, bytes.length))) {
            MemoryIO.getInstance().putByteArray(buf.address, bytes, 0, bytes.length);
            long done = 0;
            while (done < bytes.length) {
                long n = DevFuse.c().write(fd, buf.address + done, bytes.length - done);
                if (n < 0) {
                    if (DevFuse.errno() == DevFuse.EINTR) {
                        continue;
                    }
                    throw new IOException(DevFuse.failure("write to a unix socket"));
                }
                done += n;
            }
        }
    }

    static byte[] readFully(int fd, int n) throws IOException {
        byte[] out = new byte[n];
        try (Native buf = new Native(Math.max(1, n))) {
            int done = 0;
            while (done < n) {
                long got = DevFuse.c().read(fd, buf.address + done, n - done);
                if (got < 0) {
                    if (DevFuse.errno() == DevFuse.EINTR) {
                        continue;
                    }
                    throw new IOException(DevFuse.failure("read from a unix socket"));
                }
                if (got == 0) {
                    throw new IOException("the socket closed after " + done + " of " + n + " bytes");
                }
                done += (int) got;
            }
            MemoryIO.getInstance().getByteArray(buf.address, out, 0, n);
        }
        return out;
    }

    /** Native memory for one call, freed after. */
    private static final class Native implements AutoCloseable {
        final long address;
        final int length;

        Native(int length) {
            this.length = length;
            this.address = MemoryIO.getInstance().allocateMemory(length, true);
        }

        @Override
        public void close() {
            MemoryIO.getInstance().freeMemory(address);
        }
    }
}

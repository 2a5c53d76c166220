package io.peerfs.daemon.fuse;

import jnr.ffi.LastError;
import jnr.ffi.LibraryLoader;
import jnr.ffi.Runtime;
import jnr.ffi.types.size_t;
import jnr.ffi.types.ssize_t;

/**
 * The system calls PeerFS's own FUSE loop ({@link KernelFuse}) makes on {@code /dev/fuse}, its
 * mount and the hand-over socket, bound through jnr-ffi: Java's channels take a lock per read
 * and write (a reply would wait behind a reader blocked in read(2)) and cannot pass a file
 * descriptor to another process. Buffers are passed as native addresses.
 */
final class DevFuse {
    static final int O_RDWR = 2;
    static final int O_NONBLOCK = 0x800;
    static final int O_CLOEXEC = 0x80000;
    static final int MS_RDONLY = 1;
    static final int MS_NOSUID = 2;
    static final int MS_NODEV = 4;
    static final int POLLIN = 1;
    static final int EINTR = 4;
    static final int ENOENT = 2;
    static final int EAGAIN = 11;
    static final int ENODEV = 19;
    static final int MFD_CLOEXEC = 1;

    /** The calls; public, as jnr-ffi requires. Each returns -1 on failure, with errno in {@link #errno()}. */
    public interface Calls {
        int open(String path, int flags, int mode);

        int close(int fd);

        int dup(int fd);

        @ssize_t long read(int fd, @jnr.ffi.types.intptr_t long buf, @size_t long count);

        @ssize_t long write(int fd, @jnr.ffi.types.intptr_t long buf, @size_t long count);

        /** {@code fds}: an array of {@code struct pollfd {int fd; short events; short revents;}}. */
        int poll(@jnr.ffi.types.intptr_t long fds, long nfds, int timeoutMs);

        int mount(String source, String target, String type, long flags, String data);

        int eventfd(int initval, int flags);

        int socket(int domain, int type, int protocol);

        int bind(int fd, @jnr.ffi.types.intptr_t long addr, int len);

        int listen(int fd, int backlog);

        int shutdown(int fd, int how);

        int accept4(int fd, @jnr.ffi.types.intptr_t long addr, @jnr.ffi.types.intptr_t long len, int flags);

        int connect(int fd, @jnr.ffi.types.intptr_t long addr, int len);

        @ssize_t long sendmsg(int fd, @jnr.ffi.types.intptr_t long msg, int flags);

        @ssize_t long recvmsg(int fd, @jnr.ffi.types.intptr_t long msg, int flags);

        int getsockopt(int fd, int level, int name, @jnr.ffi.types.intptr_t long value,
                       @jnr.ffi.types.intptr_t long len);

        int setsockopt(int fd, int level, int name, @jnr.ffi.types.intptr_t long value, int len);

        int memfd_create(String name, int flags);

        int ftruncate(int fd, long length);

        String strerror(int errnum);
    }

    private static final class Holder {
        static final Calls CALLS = LibraryLoader.create(Calls.class).failImmediately().load("c");
        static final Runtime RUNTIME = Runtime.getRuntime(CALLS);
    }

    private DevFuse() {
    }

    static Calls c() {
        return Holder.CALLS;
    }

    /** The errno of this thread's last failed call. */
    static int errno() {
        return LastError.getLastError(Holder.RUNTIME);
    }

    /** "what: reason (errno N)" for the last failed call. */
    static String failure(String what) {
        int e = errno();
        return what + ": " + c().strerror(e) + " (errno " + e + ")";
    }
}

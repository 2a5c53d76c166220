package io.peerfs.backend;

import java.nio.ByteBuffer;
import jnr.ffi.LibraryLoader;
import jnr.ffi.annotations.In;
import jnr.ffi.annotations.Out;
import jnr.ffi.annotations.SaveError;

/**
 * The libc calls the backend is acted on with: the {@code *at} family on directory handles,
 * so that no path string is ever walked again as root (see {@link RootDir}). Public, as jnr-ffi
 * requires. Every call saves {@code errno}; {@link #errno()} reads it on the calling thread.
 */
public interface LibC {
    /** The process's binding, loaded once. */
    LibC C = LibraryLoader.create(LibC.class).load("c");

    /** {@code openat2(2)} and other calls glibc 2.36 has no wrapper for. */
    @SaveError
    long syscall(long number, long dirfd, String path, @In ByteBuffer how, long size);

    /** {@code setgroups(2)} as the raw system call: per thread, unlike glibc's. */
    @SaveError
    long syscall(long number, long size, @In int[] list);

    /** Per thread; answers the fsuid before (so {@code -1}, which is refused, reads it). */
    int setfsuid(int uid);

    int setfsgid(int gid);

    int geteuid();

    @SaveError
    int openat(int dirfd, String path, int flags, int mode);

    @SaveError
    int close(int fd);

    @SaveError
    int statx(int dirfd, String path, int flags, int mask, @Out ByteBuffer statx);

    @SaveError
    long getdents64(int fd, @Out ByteBuffer buf, long count);

    @SaveError
    long readlinkat(int dirfd, String path, @Out ByteBuffer buf, long size);

    @SaveError
    long pread(int fd, @Out ByteBuffer buf, long count, long offset);

    @SaveError
    long pwrite(int fd, @In ByteBuffer buf, long count, long offset);

    /** With {@code F_SETFL}: the file status flags ({@code O_DIRECT}, {@code O_NONBLOCK}). */
    @SaveError
    int fcntl(int fd, int cmd, int arg);

    @SaveError
    int fsync(int fd);

    @SaveError
    int fdatasync(int fd);

    @SaveError
    int ftruncate(int fd, long length);

    @SaveError
    int mkdirat(int dirfd, String path, int mode);

    int mknodat(int dirfd, String path, int mode, long dev);

    @SaveError
    int unlinkat(int dirfd, String path, int flags);

    @SaveError
    int renameat(int olddirfd, String oldpath, int newdirfd, String newpath);

    @SaveError
    int symlinkat(String target, int newdirfd, String linkpath);

    @SaveError
    int linkat(int olddirfd, String oldpath, int newdirfd, String newpath, int flags);

    @SaveError
    int fchmod(int fd, int mode);

    @SaveError
    int fchmodat(int dirfd, String path, int mode, int flags);

    @SaveError
    int fchown(int fd, int uid, int gid);

    @SaveError
    int fchownat(int dirfd, String path, int uid, int gid, int flags);

    @SaveError
    int utimensat(int dirfd, String path, @In long[] times, int flags);

    @SaveError
    int futimens(int fd, @In long[] times);

    @SaveError
    long listxattr(String path, @Out ByteBuffer list, long size);

    @SaveError
    long getxattr(String path, String name, @Out ByteBuffer value, long size);

    @SaveError
    int setxattr(String path, String name, @In ByteBuffer value, long size, int flags);

    @SaveError
    int removexattr(String path, String name);

    @SaveError
    int fsetxattr(int fd, String name, @In ByteBuffer value, long size, int flags);

    /** The process's file mode creation mask (the daemon's: 077); returns the one before. */
    int umask(int mask);

    /** The {@code errno} the last call on this thread saved. */
    static int errno() {
        return jnr.ffi.LastError.getLastError(jnr.ffi.Runtime.getRuntime(C));
    }
}

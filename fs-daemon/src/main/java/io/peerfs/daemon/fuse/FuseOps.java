package io.peerfs.daemon.fuse;

import com.kenai.jffi.MemoryIO;
import io.peerfs.backend.Credentials;
import io.peerfs.backend.FsStats;
import io.peerfs.backend.PosixException;
import io.peerfs.meta.FileAttr;
import io.peerfs.vfs.Caller;
import io.peerfs.vfs.ReadResult;
import io.peerfs.vfs.Vfs;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;
import jnr.ffi.Pointer;
import ru.serce.jnrfuse.ErrorCodes;
import ru.serce.jnrfuse.struct.FileStat;
import ru.serce.jnrfuse.struct.Statvfs;
import ru.serce.jnrfuse.struct.Timespec;

/**
 * What each FUSE callback does, whichever libfuse calls it: one {@link Vfs} call, its result
 * written into the kernel's structs, and every failure turned into a negative errno by
 * {@link #guard} (an exception that escaped into jnr-ffi would become a silent 0: a failed read
 * would look like end of file). The libfuse bindings ({@link PeerFuse} for libfuse 2,
 * {@link PeerFuse3} for libfuse 3) only unpack their callbacks' arguments and call in here.
 *
 * <p>{@code struct stat}, {@code struct statvfs} and {@code struct timespec} are the C library's
 * and the same for both; {@code struct fuse_file_info} is not, so each binding says where its
 * {@code fh} field is ({@code flags} is the first field in both).
 */
final class FuseOps {
    private static final long UTIME_NOW = (1L << 30) - 1;
    private static final long UTIME_OMIT = (1L << 30) - 2;
    private static final int TIMESPEC_SIZE = 16;

    @FunctionalInterface
    private interface Op {
        int run() throws Exception;
    }

    /** The process a callback runs for, from libfuse's context of the current request. */
    @FunctionalInterface
    interface Callers {
        Caller current();
    }

    /** Adds one name to a directory listing; false when the kernel's buffer is full. */
    @FunctionalInterface
    interface DirFiller {
        boolean add(String name);
    }

    private final int fhOffset;
    private final Callers callers;
    private Vfs vfs; // set once before the mount starts the FUSE threads
    private ReadBuffers replies; // likewise; libfuse 3 only
    private volatile FuseMount.OpObserver observer = (op, nanos, failed) -> { };
    private final CallbackThreads threads = new CallbackThreads();

    FuseOps(int fhOffset, Callers callers) {
        this.fhOffset = fhOffset;
        this.callers = callers;
    }

    void serve(Vfs v) {
        this.vfs = v;
    }

    void observe(FuseMount.OpObserver o) {
        this.observer = o;
    }

    /** Replies of libfuse 3's read_buf come from {@code buffers}; set before the mount starts. */
    void replyThrough(ReadBuffers buffers) {
        this.replies = buffers;
    }

    private int guard(String op, String path, Op body) {
        threads.enter();
        ReadBuffers r = replies;
        if (r != null) {
            r.callbackStarts();
        }
        long start = System.nanoTime();
        int result;
        try {
            requireNameMax(path);
            result = body.run();
        } catch (Throwable t) {
            result = -Errno.of(op, path, t);
        }
        observer.observe(op, System.nanoTime() - start, result < 0);
        return result;
    }

    /**
     * {@link #guard} for a callback that may change the backend: its system calls there are made
     * as the calling process (fsuid, fsgid, groups), so the store's own permissions decide.
     */
    private int change(String op, String path, Op body) {
        return guard(op, path, () -> {
            Caller c = callers.current();
            try (Credentials.Scope scope = Credentials.enter(Credentials.ofProcess(c.uid(), c.gid(), c.pid()))) {
                return body.run();
            }
        });
    }

    /** Longest name in a directory, in bytes (statfs reports it; ext4 and NFS have the same). */
    static final int NAME_MAX = 255;

    /**
     * ENAMETOOLONG for a path whose last name is longer than {@link #NAME_MAX} bytes, as a
     * local file system answers any call naming it (the kernel passes FUSE up to 1,024).
     * libfuse passes no path (null) for a call on an open file that was removed.
     */
    static void requireNameMax(String path) throws java.nio.file.FileSystemException {
        if (path == null) {
            return; // a call on an open file whose name is gone
        }
        int start = path.lastIndexOf('/') + 1;
        // a char is at most 3 bytes of UTF-8 (a pair of surrogates 4): short names need no count
        if (path.length() - start > NAME_MAX / 3
                && path.substring(start).getBytes(StandardCharsets.UTF_8).length > NAME_MAX) {
            throw PosixException.of(PosixException.ENAMETOOLONG, path, null);
        }
    }

    /** Callbacks that ran on a thread jffi had just attached to the JVM (see {@link CallbackThreads}). */
    long threadAttaches() {
        return threads.attaches();
    }

    private long fh(Pointer fi) {
        return fi.getLong(fhOffset);
    }

    /** getattr; by handle when libfuse 3 passes one (the kernel sent the request for an open file). */
    int getattr(String path, Pointer stat, Pointer fi) {
        return guard("getattr", path, () -> {
            fill(FileStat.of(stat), fi == null ? vfs.getattr(path) : vfs.getattr(fh(fi)));
            return 0;
        });
    }

    static void fill(FileStat stat, FileAttr a) {
        stat.st_ino.set(a.ino()); // shown as is: the mount runs with use_ino
        stat.st_mode.set(a.type().modeBits() | a.mode());
        stat.st_size.set(a.dataSize());
        stat.st_rdev.set(a.rdev());
        stat.st_nlink.set(a.nlink());
        stat.st_uid.set(a.uid());
        stat.st_gid.set(a.gid());
        stat.st_blocks.set((a.dataSize() + 511) / 512);
        stat.st_blksize.set(128 * 1024);
        setTime(stat.st_mtim, a.mtimeNs());
        setTime(stat.st_ctim, a.ctimeNs());
        setTime(stat.st_atim, a.atimeNs());
    }

    private static void setTime(Timespec t, long ns) {
        t.tv_sec.set(Math.floorDiv(ns, 1_000_000_000L));
        t.tv_nsec.set(Math.floorMod(ns, 1_000_000_000L));
    }

    int readdir(String path, DirFiller filler) {
        return guard("readdir", path, () -> {
            List<String> names = vfs.readdir(path);
            filler.add(".");
            filler.add("..");
            for (String name : names) {
                if (!filler.add(name)) {
                    break;
                }
            }
            return 0;
        });
    }

    int readlink(String path, Pointer buf, long size) {
        return guard("readlink", path, () -> {
            byte[] target = vfs.readlink(path).getBytes(StandardCharsets.UTF_8);
            int n = (int) Math.min(target.length, size - 1);
            buf.put(0, target, 0, n);
            buf.putByte(n, (byte) 0);
            return 0;
        });
    }

    /** An open for writing is a change: a result file opened so is staged with the caller as its writer. */
    int open(String path, Pointer fi) {
        int flags = fi.getInt(0);
        Op body = () -> {
            fi.putLong(fhOffset, vfs.open(path, flags, callers.current().pid()));
            return 0;
        };
        return (flags & Vfs.O_ACCMODE) == Vfs.O_RDONLY && (flags & Vfs.O_TRUNC) == 0 ? guard("open", path, body)
                : change("open", path, body);
    }

    int read(String path, Pointer buf, long size, long offset, Pointer fi) {
        return guard("read", path, () -> {
            // the kernel's buffer itself, as a direct ByteBuffer: the chunk file is read straight into it
            ByteBuffer dst = MemoryIO.getInstance().newDirectByteBuffer(buf.address(), (int) size);
            return vfs.read(fh(fi), offset, dst);
        });
    }

    /**
     * libfuse 3's read_buf. When replies are spliced, bytes already in memory (a chunk just
     * fetched) are handed to libfuse where they are; otherwise they go into a reply buffer from
     * {@link ReadBuffers}, page-aligned so the chunk store can fill it with direct I/O: this FUSE
     * thread's memfd slot, which libfuse splices and keeps, or a C allocation, which libfuse
     * sends and frees.
     */
    int readBuf(String path, Pointer bufp, long size, long offset, Pointer fi) {
        ReadBuffers buffers = replies;
        return guard("read", path, () -> {
            try (ReadBuffers.Reply reply = buffers.reply(size)) {
                ReadResult r = vfs.read(fh(fi), offset, (int) size, buffers.splicing(), reply::bytes);
                if (r instanceof ReadResult.Held held) {
                    buffers.hand(bufp, held.bytes());
                } else {
                    reply.hand(bufp, ((ReadResult.Filled) r).length());
                }
                return 0;
            }
        });
    }

    int release(String path, Pointer fi) {
        return guard("release", path, () -> {
            vfs.release(fh(fi));
            return 0;
        });
    }

    int statfs(String path, Pointer stat) {
        return guard("statfs", path, () -> {
            Statvfs st = Statvfs.of(stat);
            FsStats s = vfs.statfs();
            st.f_bsize.set(s.blockSize());
            st.f_frsize.set(s.blockSize());
            st.f_blocks.set(s.totalBlocks());
            st.f_bfree.set(s.freeBlocks());
            st.f_bavail.set(s.availableBlocks());
            st.f_files.set(s.files());
            st.f_ffree.set(s.freeFiles());
            st.f_favail.set(s.freeFiles());
            st.f_namemax.set(s.nameMax());
            return 0;
        });
    }

    int getxattr(String path, String name, Pointer value, long size) {
        return guard("getxattr", path, () -> copyOut(vfs.getxattr(path, name), value, size));
    }

    int listxattr(String path, Pointer list, long size) {
        return guard("listxattr", path, () -> {
            StringBuilder names = new StringBuilder();
            for (String n : vfs.listxattr(path)) {
                names.append(n).append('\0');
            }
            return copyOut(names.toString().getBytes(StandardCharsets.UTF_8), list, size);
        });
    }

    /** xattr convention: size 0 asks for the length; a too-small buffer is ERANGE. */
    private static int copyOut(byte[] bytes, Pointer dst, long size) {
        if (size == 0) {
            return bytes.length;
        }
        if (size < bytes.length) {
            return -ErrorCodes.ERANGE();
        }
        dst.put(0, bytes, 0, bytes.length);
        return bytes.length;
    }

    int access(String path, int mask) {
        return guard("access", path, () -> {
            vfs.access(path, mask);
            return 0;
        });
    }

    // Changes: scratch entries change; source data is refused by the Vfs with EROFS.

    int create(String path, long mode, Pointer fi) {
        return change("create", path, () -> {
            fi.putLong(fhOffset, vfs.create(path, (int) mode, callers.current()));
            return 0;
        });
    }

    int write(String path, Pointer buf, long size, long offset, Pointer fi) {
        return guard("write", path, () -> {
            ByteBuffer src = MemoryIO.getInstance().newDirectByteBuffer(buf.address(), (int) size);
            return vfs.write(fh(fi), offset, src);
        });
    }

    int flush(String path, Pointer fi) {
        return guard("flush", path, () -> {
            vfs.flush(fh(fi), callers.current().pid());
            return 0;
        });
    }

    int fsync(String path, Pointer fi) {
        return guard("fsync", path, () -> {
            vfs.fsync(fh(fi));
            return 0;
        });
    }

    int truncate(String path, long size) {
        return change("truncate", path, () -> {
            vfs.truncate(path, size);
            return 0;
        });
    }

    int ftruncate(String path, long size, Pointer fi) {
        return change("ftruncate", path, () -> {
            vfs.ftruncate(fh(fi), size);
            return 0;
        });
    }

    int mkdir(String path, long mode) {
        return change("mkdir", path, () -> {
            vfs.mkdir(path, (int) mode, callers.current());
            return 0;
        });
    }

    /** A regular file, FIFO, socket or device node: {@code mode} has its kind and permissions. */
    int mknod(String path, long mode, long rdev) {
        return change("mknod", path, () -> {
            vfs.mknod(path, (int) mode, rdev, callers.current());
            return 0;
        });
    }

    int unlink(String path) {
        return change("unlink", path, () -> {
            vfs.unlink(path);
            return 0;
        });
    }

    int rmdir(String path) {
        return change("rmdir", path, () -> {
            vfs.rmdir(path);
            return 0;
        });
    }

    int symlink(String target, String linkpath) {
        return change("symlink", linkpath, () -> {
            vfs.symlink(target, linkpath, callers.current());
            return 0;
        });
    }

    /** {@code flags} are renameat2's (RENAME_NOREPLACE, RENAME_EXCHANGE): not supported, EINVAL as the kernel says. */
    int rename(String oldpath, String newpath, int flags) {
        return change("rename", oldpath, () -> {
            if (flags != 0) {
                throw PosixException.of(PosixException.EINVAL, oldpath, newpath);
            }
            requireNameMax(newpath);
            vfs.rename(oldpath, newpath);
            return 0;
        });
    }

    int link(String oldpath, String newpath) {
        return change("link", newpath, () -> {
            requireNameMax(oldpath);
            vfs.link(oldpath, newpath);
            return 0;
        });
    }

    int chmod(String path, long mode) {
        return change("chmod", path, () -> {
            vfs.chmod(path, (int) mode);
            return 0;
        });
    }

    int chown(String path, long uid, long gid) {
        return change("chown", path, () -> {
            vfs.chown(path, uid, gid);
            return 0;
        });
    }

    /** {@code times} points at utimensat(2)'s two timespecs: access time, then modification time. */
    int utimens(String path, Pointer times) {
        return change("utimens", path, () -> {
            vfs.utimens(path, nanos(times, 0), nanos(times, TIMESPEC_SIZE));
            return 0;
        });
    }

    /** UTIME_NOW and UTIME_OMIT are special values of tv_nsec. */
    private static long nanos(Pointer times, int at) {
        long nsec = times.getLong(at + 8);
        if (nsec == UTIME_OMIT) {
            return Vfs.OMIT;
        }
        if (nsec == UTIME_NOW) {
            java.time.Instant now = java.time.Instant.now();
            return now.getEpochSecond() * 1_000_000_000L + now.getNano();
        }
        return times.getLong(at) * 1_000_000_000L + nsec;
    }

    int setxattr(String path, String name, Pointer value, long size, int flags) {
        return change("setxattr", path, () -> {
            byte[] v = new byte[(int) size];
            value.get(0, v, 0, v.length);
            vfs.setxattr(path, name, v, flags);
            return 0;
        });
    }

    int removexattr(String path, String name) {
        return change("removexattr", path, () -> {
            vfs.removexattr(path, name);
            return 0;
        });
    }
}

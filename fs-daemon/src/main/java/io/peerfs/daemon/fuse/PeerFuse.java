package io.peerfs.daemon.fuse;

import com.kenai.jffi.MemoryIO;
import io.peerfs.backend.FsStats;
import io.peerfs.meta.FileAttr;
import io.peerfs.vfs.Caller;
import io.peerfs.vfs.Vfs;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;
import jnr.ffi.Pointer;
import jnr.ffi.types.dev_t;
import jnr.ffi.types.gid_t;
import jnr.ffi.types.mode_t;
import jnr.ffi.types.off_t;
import jnr.ffi.types.size_t;
import jnr.ffi.types.uid_t;
import ru.serce.jnrfuse.ErrorCodes;
import ru.serce.jnrfuse.FuseFillDir;
import ru.serce.jnrfuse.FuseStubFS;
import ru.serce.jnrfuse.struct.FileStat;
import ru.serce.jnrfuse.struct.FuseFileInfo;
import ru.serce.jnrfuse.struct.Statvfs;
import ru.serce.jnrfuse.struct.Timespec;

/**
 * The jnr-fuse adapter: translates callbacks to {@link Vfs} calls and nothing more. Every
 * callback goes through {@link #guard}, because jnr-fuse turns an escaped exception into a
 * silent 0 (a failed read would look like end of file).
 */
public final class PeerFuse extends FuseStubFS {
    private static final int S_IFDIR = 0040000;
    private static final int S_IFREG = 0100000;
    private static final int S_IFLNK = 0120000;
    private static final long UTIME_NOW = (1L << 30) - 1;
    private static final long UTIME_OMIT = (1L << 30) - 2;

    @FunctionalInterface
    private interface Op {
        int run() throws Exception;
    }

    /** Told how long each operation took (for metrics). */
    @FunctionalInterface
    public interface OpObserver {
        void observe(String op, long nanos, boolean failed);
    }

    private Vfs vfs; // set once before the mount starts the FUSE threads
    private volatile OpObserver observer = (op, nanos, failed) -> { };

    /**
     * Builds the native bindings (a fifth of a start's time), without a file system to serve
     * yet: the daemon does it while its stores open.
     */
    public PeerFuse() {
    }

    /** The file system to serve; call once, before mounting. */
    public PeerFuse serve(Vfs v) {
        this.vfs = v;
        return this;
    }

    /** Reports every operation's duration to {@code o} from now on. */
    public void observeOps(OpObserver o) {
        this.observer = o;
    }

    private int guard(String op, String path, Op body) {
        long start = System.nanoTime();
        int result;
        try {
            result = body.run();
        } catch (Throwable t) {
            result = -Errno.of(op, path, t);
        }
        observer.observe(op, System.nanoTime() - start, result < 0);
        return result;
    }

    @Override
    protected String getFSName() {
        return "peerfs";
    }

    @Override
    public int getattr(String path, FileStat stat) {
        return guard("getattr", path, () -> {
            fill(stat, vfs.getattr(path));
            return 0;
        });
    }

    static void fill(FileStat stat, FileAttr a) {
        int typeBits = switch (a.type()) {
            case DIRECTORY -> S_IFDIR;
            case SYMLINK -> S_IFLNK;
            default -> S_IFREG;
        };
        stat.st_mode.set(typeBits | a.mode());
        stat.st_size.set(a.size());
        stat.st_nlink.set(a.nlink());
        stat.st_uid.set(a.uid());
        stat.st_gid.set(a.gid());
        stat.st_blocks.set((a.size() + 511) / 512);
        stat.st_blksize.set(128 * 1024);
        setTime(stat.st_mtim, a.mtimeNs());
        setTime(stat.st_ctim, a.ctimeNs());
        setTime(stat.st_atim, a.atimeNs());
    }

    private static void setTime(Timespec t, long ns) {
        t.tv_sec.set(Math.floorDiv(ns, 1_000_000_000L));
        t.tv_nsec.set(Math.floorMod(ns, 1_000_000_000L));
    }

    @Override
    public int readdir(String path, Pointer buf, FuseFillDir filler, @off_t long offset, FuseFileInfo fi) {
        return guard("readdir", path, () -> {
            List<String> names = vfs.readdir(path);
            filler.apply(buf, ".", null, 0);
            filler.apply(buf, "..", null, 0);
            for (String name : names) {
                if (filler.apply(buf, name, null, 0) != 0) {
                    break;
                }
            }
            return 0;
        });
    }

    @Override
    public int readlink(String path, Pointer buf, @size_t long size) {
        return guard("readlink", path, () -> {
            byte[] target = vfs.readlink(path).getBytes(StandardCharsets.UTF_8);
            int n = (int) Math.min(target.length, size - 1);
            buf.put(0, target, 0, n);
            buf.putByte(n, (byte) 0);
            return 0;
        });
    }

    @Override
    public int open(String path, FuseFileInfo fi) {
        return guard("open", path, () -> {
            fi.fh.set(vfs.open(path, fi.flags.get(), (int) getContext().pid.get()));
            return 0;
        });
    }

    @Override
    public int read(String path, Pointer buf, @size_t long size, @off_t long offset, FuseFileInfo fi) {
        return guard("read", path, () -> {
            // the kernel's buffer itself, as a direct ByteBuffer: the chunk file is read straight into it
            ByteBuffer dst = MemoryIO.getInstance().newDirectByteBuffer(buf.address(), (int) size);
            return vfs.read(fi.fh.get(), offset, dst);
        });
    }

    @Override
    public int release(String path, FuseFileInfo fi) {
        return guard("release", path, () -> {
            vfs.release(fi.fh.get());
            return 0;
        });
    }

    @Override
    public int statfs(String path, Statvfs st) {
        return guard("statfs", path, () -> {
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

    @Override
    public int getxattr(String path, String name, Pointer value, @size_t long size) {
        return guard("getxattr", path, () -> copyOut(vfs.getxattr(path, name), value, size));
    }

    @Override
    public int listxattr(String path, Pointer list, @size_t long size) {
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

    @Override
    public int access(String path, int mask) {
        return guard("access", path, () -> {
            vfs.access(path, mask);
            return 0;
        });
    }

    // Changes: scratch entries change; source data is refused by the Vfs with EROFS.

    private Caller caller() {
        return new Caller((int) getContext().uid.get(), (int) getContext().gid.get(), (int) getContext().pid.get());
    }

    @Override
    public int create(String path, @mode_t long mode, FuseFileInfo fi) {
        return guard("create", path, () -> {
            fi.fh.set(vfs.create(path, (int) mode, caller()));
            return 0;
        });
    }

    @Override
    public int write(String path, Pointer buf, @size_t long size, @off_t long offset, FuseFileInfo fi) {
        return guard("write", path, () -> {
            ByteBuffer src = MemoryIO.getInstance().newDirectByteBuffer(buf.address(), (int) size);
            return vfs.write(fi.fh.get(), offset, src);
        });
    }

    @Override
    public int flush(String path, FuseFileInfo fi) {
        return guard("flush", path, () -> {
            vfs.flush(fi.fh.get(), (int) getContext().pid.get());
            return 0;
        });
    }

    @Override
    public int fsync(String path, int isdatasync, FuseFileInfo fi) {
        return guard("fsync", path, () -> {
            vfs.fsync(fi.fh.get());
            return 0;
        });
    }

    @Override
    public int truncate(String path, @off_t long size) {
        return guard("truncate", path, () -> {
            vfs.truncate(path, size);
            return 0;
        });
    }

    @Override
    public int ftruncate(String path, @off_t long size, FuseFileInfo fi) {
        return guard("ftruncate", path, () -> {
            vfs.ftruncate(fi.fh.get(), size);
            return 0;
        });
    }

    @Override
    public int mkdir(String path, @mode_t long mode) {
        return guard("mkdir", path, () -> {
            vfs.mkdir(path, (int) mode, caller());
            return 0;
        });
    }

    @Override
    public int mknod(String path, @mode_t long mode, @dev_t long rdev) {
        return guard("mknod", path, () -> {
            throw new java.nio.file.FileSystemException(path, null, "Operation not supported");
        });
    }

    @Override
    public int unlink(String path) {
        return guard("unlink", path, () -> {
            vfs.unlink(path);
            return 0;
        });
    }

    @Override
    public int rmdir(String path) {
        return guard("rmdir", path, () -> {
            vfs.rmdir(path);
            return 0;
        });
    }

    @Override
    public int symlink(String target, String linkpath) {
        return guard("symlink", linkpath, () -> {
            vfs.symlink(target, linkpath, caller());
            return 0;
        });
    }

    @Override
    public int rename(String oldpath, String newpath) {
        return guard("rename", oldpath, () -> {
            vfs.rename(oldpath, newpath);
            return 0;
        });
    }

    @Override
    public int link(String oldpath, String newpath) {
        return guard("link", newpath, () -> {
            vfs.link(oldpath, newpath);
            return 0;
        });
    }

    @Override
    public int chmod(String path, @mode_t long mode) {
        return guard("chmod", path, () -> {
            vfs.chmod(path, (int) mode);
            return 0;
        });
    }

    @Override
    public int chown(String path, @uid_t long uid, @gid_t long gid) {
        return guard("chown", path, () -> {
            vfs.chown(path, uid, gid);
            return 0;
        });
    }

    @Override
    public int utimens(String path, Timespec[] timespec) {
        return guard("utimens", path, () -> {
            vfs.utimens(path, nanos(timespec[0]), nanos(timespec[1]));
            return 0;
        });
    }

    /** A utimensat(2) time: UTIME_NOW and UTIME_OMIT are special values of tv_nsec. */
    private static long nanos(Timespec t) {
        long nsec = t.tv_nsec.longValue();
        if (nsec == UTIME_OMIT) {
            return Vfs.OMIT;
        }
        if (nsec == UTIME_NOW) {
            java.time.Instant now = java.time.Instant.now();
            return now.getEpochSecond() * 1_000_000_000L + now.getNano();
        }
        return t.tv_sec.get() * 1_000_000_000L + nsec;
    }

    @Override
    public int setxattr(String path, String name, Pointer value, @size_t long size, int flags) {
        return guard("setxattr", path, () -> {
            byte[] v = new byte[(int) size];
            value.get(0, v, 0, v.length);
            vfs.setxattr(path, name, v, flags);
            return 0;
        });
    }

    @Override
    public int removexattr(String path, String name) {
        return guard("removexattr", path, () -> {
            vfs.removexattr(path, name);
            return 0;
        });
    }
}

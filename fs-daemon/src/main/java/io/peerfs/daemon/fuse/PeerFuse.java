package io.peerfs.daemon.fuse;

import com.kenai.jffi.MemoryIO;
import io.peerfs.backend.FsStats;
import io.peerfs.meta.FileAttr;
import io.peerfs.vfs.Vfs;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;
import jnr.ffi.Pointer;
import jnr.ffi.types.off_t;
import jnr.ffi.types.size_t;
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

    @FunctionalInterface
    private interface Op {
        int run() throws Exception;
    }

    private final Vfs vfs;

    public PeerFuse(Vfs vfs) {
        this.vfs = vfs;
    }

    private static int guard(String op, String path, Op body) {
        try {
            return body.run();
        } catch (Throwable t) {
            return -Errno.of(op, path, t);
        }
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
            fi.fh.set(vfs.open(path, fi.flags.get()));
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

    // Changes to source data: all refused with EROFS until scratch and result paths exist.

    @Override
    public int create(String path, @jnr.ffi.types.mode_t long mode, FuseFileInfo fi) {
        return refuse("create", path);
    }

    @Override
    public int write(String path, Pointer buf, @size_t long size, @off_t long offset, FuseFileInfo fi) {
        return refuse("write", path);
    }

    @Override
    public int mkdir(String path, @jnr.ffi.types.mode_t long mode) {
        return refuse("mkdir", path);
    }

    @Override
    public int mknod(String path, @jnr.ffi.types.mode_t long mode, @jnr.ffi.types.dev_t long rdev) {
        return refuse("mknod", path);
    }

    @Override
    public int unlink(String path) {
        return refuse("unlink", path);
    }

    @Override
    public int rmdir(String path) {
        return refuse("rmdir", path);
    }

    @Override
    public int symlink(String oldpath, String newpath) {
        return refuse("symlink", newpath);
    }

    @Override
    public int rename(String oldpath, String newpath) {
        return refuse("rename", oldpath);
    }

    @Override
    public int link(String oldpath, String newpath) {
        return refuse("link", newpath);
    }

    @Override
    public int chmod(String path, @jnr.ffi.types.mode_t long mode) {
        return refuse("chmod", path);
    }

    @Override
    public int chown(String path, @jnr.ffi.types.uid_t long uid, @jnr.ffi.types.gid_t long gid) {
        return refuse("chown", path);
    }

    @Override
    public int truncate(String path, @off_t long size) {
        return refuse("truncate", path);
    }

    @Override
    public int utimens(String path, Timespec[] timespec) {
        return refuse("utimens", path);
    }

    @Override
    public int setxattr(String path, String name, Pointer value, @size_t long size, int flags) {
        return refuse("setxattr", path);
    }

    @Override
    public int removexattr(String path, String name) {
        return refuse("removexattr", path);
    }

    private int refuse(String op, String path) {
        return guard(op, path, () -> {
            throw vfs.refuse(op, path);
        });
    }
}

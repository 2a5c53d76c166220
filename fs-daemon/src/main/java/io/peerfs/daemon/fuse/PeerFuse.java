package io.peerfs.daemon.fuse;

import io.peerfs.daemon.MountException;
import io.peerfs.vfs.Caller;
import io.peerfs.vfs.Vfs;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import jnr.ffi.Pointer;
import jnr.ffi.Struct;
import jnr.ffi.types.dev_t;
import jnr.ffi.types.gid_t;
import jnr.ffi.types.mode_t;
import jnr.ffi.types.off_t;
import jnr.ffi.types.size_t;
import jnr.ffi.types.uid_t;
import ru.serce.jnrfuse.FuseFillDir;
import ru.serce.jnrfuse.FuseStubFS;
import ru.serce.jnrfuse.struct.FileStat;
import ru.serce.jnrfuse.struct.FuseFileInfo;
import ru.serce.jnrfuse.struct.Statvfs;
import ru.serce.jnrfuse.struct.Timespec;

/**
 * The libfuse 2 binding, through jnr-fuse: each callback hands its arguments to {@link FuseOps}.
 * libfuse 2 caps every read and write request at 128 KiB.
 */
public final class PeerFuse extends FuseStubFS implements FuseMount {
    /** Where {@code fh} is in libfuse 2's {@code struct fuse_file_info}. */
    private static final int FH_OFFSET = 24;

    private final FuseOps ops = new FuseOps(FH_OFFSET, this::caller);

    /**
     * Builds the native bindings (a fifth of a start's time), without a file system to serve
     * yet: the daemon does it while its stores open.
     */
    public PeerFuse() {
    }

    @Override
    public int version() {
        return 2;
    }

    @Override
    public PeerFuse serve(Vfs v) {
        ops.serve(v);
        return this;
    }

    @Override
    public Map<String, Object> stats() {
        return Map.of("threadAttaches", ops.threadAttaches());
    }

    @Override
    public void observeOps(OpObserver o) {
        ops.observe(o);
    }

    @Override
    public void mount(Path mountpoint, List<String> options) throws MountException {
        List<String> args = new ArrayList<>();
        for (String o : options) {
            args.add("-o");
            args.add(o);
        }
        try {
            mount(mountpoint, true, false, args.toArray(String[]::new));
        } catch (RuntimeException e) {
            Throwable t = e;
            while (t.getCause() != null) {
                t = t.getCause();
            }
            throw new MountException("libfuse2 could not mount with the options " + String.join(",", options)
                    + " (" + t.getMessage() + ")", e);
        }
    }

    private Caller caller() {
        return new Caller((int) getContext().uid.get(), (int) getContext().gid.get(), (int) getContext().pid.get());
    }

    private static Pointer mem(Struct s) {
        return Struct.getMemory(s);
    }

    @Override
    protected String getFSName() {
        return "peerfs";
    }

    @Override
    public int getattr(String path, FileStat stat) {
        return ops.getattr(path, mem(stat), null);
    }

    @Override
    public int readdir(String path, Pointer buf, FuseFillDir filler, @off_t long offset, FuseFileInfo fi) {
        return ops.readdir(path, name -> filler.apply(buf, name, null, 0) == 0);
    }

    @Override
    public int readlink(String path, Pointer buf, @size_t long size) {
        return ops.readlink(path, buf, size);
    }

    @Override
    public int open(String path, FuseFileInfo fi) {
        return ops.open(path, mem(fi));
    }

    @Override
    public int read(String path, Pointer buf, @size_t long size, @off_t long offset, FuseFileInfo fi) {
        return ops.read(path, buf, size, offset, mem(fi));
    }

    @Override
    public int release(String path, FuseFileInfo fi) {
        return ops.release(path, mem(fi));
    }

    @Override
    public int statfs(String path, Statvfs st) {
        return ops.statfs(path, mem(st));
    }

    @Override
    public int getxattr(String path, String name, Pointer value, @size_t long size) {
        return ops.getxattr(path, name, value, size);
    }

    @Override
    public int listxattr(String path, Pointer list, @size_t long size) {
        return ops.listxattr(path, list, size);
    }

    @Override
    public int access(String path, int mask) {
        return ops.access(path, mask);
    }

    @Override
    public int create(String path, @mode_t long mode, FuseFileInfo fi) {
        return ops.create(path, mode, mem(fi));
    }

    @Override
    public int write(String path, Pointer buf, @size_t long size, @off_t long offset, FuseFileInfo fi) {
        return ops.write(path, buf, size, offset, mem(fi));
    }

    @Override
    public int flush(String path, FuseFileInfo fi) {
        return ops.flush(path, mem(fi));
    }

    @Override
    public int fsync(String path, int isdatasync, FuseFileInfo fi) {
        return ops.fsync(path, mem(fi));
    }

    @Override
    public int truncate(String path, @off_t long size) {
        return ops.truncate(path, size);
    }

    @Override
    public int ftruncate(String path, @off_t long size, FuseFileInfo fi) {
        return ops.ftruncate(path, size, mem(fi));
    }

    @Override
    public int mkdir(String path, @mode_t long mode) {
        return ops.mkdir(path, mode);
    }

    @Override
    public int mknod(String path, @mode_t long mode, @dev_t long rdev) {
        return ops.mknod(path, mode, rdev);
    }

    @Override
    public int unlink(String path) {
        return ops.unlink(path);
    }

    @Override
    public int rmdir(String path) {
        return ops.rmdir(path);
    }

    @Override
    public int symlink(String target, String linkpath) {
        return ops.symlink(target, linkpath);
    }

    @Override
    public int rename(String oldpath, String newpath) {
        return ops.rename(oldpath, newpath, 0);
    }

    @Override
    public int link(String oldpath, String newpath) {
        return ops.link(oldpath, newpath);
    }

    @Override
    public int chmod(String path, @mode_t long mode) {
        return ops.chmod(path, mode);
    }

    @Override
    public int chown(String path, @uid_t long uid, @gid_t long gid) {
        return ops.chown(path, uid, gid);
    }

    @Override
    public int utimens(String path, Timespec[] timespec) {
        return ops.utimens(path, mem(timespec[0])); // jnr-fuse's two structs lie over the kernel's array
    }

    @Override
    public int setxattr(String path, String name, Pointer value, @size_t long size, int flags) {
        return ops.setxattr(path, name, value, size, flags);
    }

    @Override
    public int removexattr(String path, String name) {
        return ops.removexattr(path, name);
    }
}

package io.peerfs.daemon.fuse;

import jnr.ffi.Pointer;
import jnr.ffi.annotations.Delegate;
import jnr.ffi.types.gid_t;
import jnr.ffi.types.mode_t;
import jnr.ffi.types.off_t;
import jnr.ffi.types.size_t;
import jnr.ffi.types.uid_t;

/**
 * The part of libfuse 3's high-level API ({@code fuse.h}, FUSE_USE_VERSION 312) PeerFS uses,
 * bound by name: {@code fuse_new} and {@code fuse_loop_mt} resolve to their default symbol
 * versions (FUSE_3.1 and FUSE_3.12), whose signatures these are: libfuse 3.12 or later (Debian 12
 * has 3.14). Public, as jnr-ffi requires.
 */
public interface LibFuse3 {
    Pointer fuse_new(Pointer args, Pointer ops, @size_t long opSize, Pointer userData);

    int fuse_mount(Pointer fuse, String mountpoint);

    void fuse_unmount(Pointer fuse);

    void fuse_destroy(Pointer fuse);

    int fuse_loop_mt(Pointer fuse, Pointer config);

    Pointer fuse_loop_cfg_create();

    void fuse_loop_cfg_destroy(Pointer config);

    void fuse_loop_cfg_set_max_threads(Pointer config, int value);

    void fuse_loop_cfg_set_idle_threads(Pointer config, int value);

    Pointer fuse_get_context();

    // The callbacks of struct fuse_operations PeerFS fills in, with libfuse 3's signatures.

    /** getattr (a struct stat, a fuse_file_info), utimens (two timespecs, a fuse_file_info). */
    interface PathTwoPointers {
        @Delegate
        int apply(String path, Pointer p, Pointer fi);
    }

    /** readlink, listxattr: a path, a buffer and its size. */
    interface PathBuffer {
        @Delegate
        int apply(String path, Pointer buf, @size_t long size);
    }

    interface Mknod {
        @Delegate
        int mknod(String path, @mode_t long mode, long rdev);
    }

    interface Mkdir {
        @Delegate
        int mkdir(String path, @mode_t long mode);
    }

    /** unlink, rmdir. */
    interface PathOp {
        @Delegate
        int apply(String path);
    }

    /** symlink, link, removexattr. */
    interface TwoStrings {
        @Delegate
        int apply(String first, String second);
    }

    interface Rename {
        @Delegate
        int rename(String from, String to, int flags);
    }

    /** chmod, create. */
    interface PathModeFile {
        @Delegate
        int apply(String path, @mode_t long mode, Pointer fi);
    }

    interface Chown {
        @Delegate
        int chown(String path, @uid_t long uid, @gid_t long gid, Pointer fi);
    }

    interface Truncate {
        @Delegate
        int truncate(String path, @off_t long size, Pointer fi);
    }

    /** open, flush, release (the pointer is a fuse_file_info), statfs (a struct statvfs). */
    interface PathPointer {
        @Delegate
        int apply(String path, Pointer p);
    }

    /** read, write, read_buf (whose buffer pointer is a {@code struct fuse_bufvec **}). */
    interface ReadWrite {
        @Delegate
        int apply(String path, Pointer buf, @size_t long size, @off_t long offset, Pointer fi);
    }


    interface Fsync {
        @Delegate
        int fsync(String path, int datasync, Pointer fi);
    }

    interface Setxattr {
        @Delegate
        int setxattr(String path, String name, Pointer value, @size_t long size, int flags);
    }

    interface Getxattr {
        @Delegate
        int getxattr(String path, String name, Pointer value, @size_t long size);
    }



    interface Readdir {
        @Delegate
        int readdir(String path, Pointer buf, Pointer filler, @off_t long offset, Pointer fi, int flags);
    }

    /** {@code fuse_fill_dir_t}, called back from {@link Readdir}. */
    interface FillDir {
        @Delegate
        int apply(Pointer buf, Pointer name, Pointer stat, @off_t long offset, int flags);
    }

    /** init: a {@code struct fuse_conn_info} and a {@code struct fuse_config}; returns the mount's private data. */
    interface Init {
        @Delegate
        Pointer init(Pointer conn, Pointer cfg);
    }

    interface Access {
        @Delegate
        int access(String path, int mask);
    }


}

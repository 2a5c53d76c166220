#!/usr/bin/python3
"""A passthrough FUSE file system that fails on demand: a disk going bad, read-only or full.

    faultfs.py ROOT MOUNTPOINT CONTROL_FILE

Serves ROOT at MOUNTPOINT and obeys the first line of CONTROL_FILE, re-read whenever it
changes: a mode and optionally the path prefixes (relative to ROOT) it applies to; without
prefixes it applies everywhere.

    ok                  pass everything through
    eio [PREFIX...]     every operation fails with EIO (a dying disk)
    erofs [PREFIX...]   reads work, every change fails with EROFS (remounted read-only)
    enospc [PREFIX...]  reads, unlink and rmdir work, growing anything fails with ENOSPC (a full disk)
    hang [PREFIX...]    operations block until the mode changes (a stuck device)

The tests use it where device-mapper (dm-flakey, dm-error) is not available: the failures
reach the program under test as real errno values from real system calls.
"""
import errno
import os
import sys
import threading
import time

try:
    from fusepy import FUSE, FuseOSError, Operations  # Debian's python3-fusepy
except ImportError:
    from fuse import FUSE, FuseOSError, Operations  # fusepy from PyPI

CHANGES = frozenset(["chmod", "chown", "create", "link", "mkdir", "mknod", "rename", "rmdir", "symlink",
                     "truncate", "unlink", "utimens", "write", "fsync", "setxattr", "removexattr"])
FREEING = frozenset(["unlink", "rmdir"])


class Control:
    def __init__(self, path):
        self.path = path
        self.stamp = None
        self.mode = "ok"
        self.prefixes = ()
        self.lock = threading.Lock()

    def current(self):
        try:
            st = os.stat(self.path)
            stamp = (st.st_mtime_ns, st.st_size, st.st_ino)
        except FileNotFoundError:
            stamp = None
        with self.lock:
            if stamp != self.stamp:
                self.stamp = stamp
                words = []
                if stamp is not None:
                    with open(self.path) as f:
                        words = (f.readline() or "ok").split()
                self.mode = words[0] if words else "ok"
                self.prefixes = tuple(p.strip("/") for p in words[1:])
            return self.mode, self.prefixes


class FaultFs(Operations):
    def __init__(self, root, control):
        self.root = os.path.realpath(root)
        self.control = control

    def _check(self, op, path):
        while True:
            mode, prefixes = self.control.current()
            rel = path.lstrip("/")
            if mode == "ok" or (prefixes and not any(rel == p or rel.startswith(p + "/") for p in prefixes)):
                return
            if mode == "eio":
                raise FuseOSError(errno.EIO)
            if mode == "erofs" and op in CHANGES:
                raise FuseOSError(errno.EROFS)
            if mode == "enospc" and op in CHANGES and op not in FREEING:
                raise FuseOSError(errno.ENOSPC)
            if mode != "hang":
                return
            time.sleep(0.05)

    def _full(self, path):
        return os.path.join(self.root, path.lstrip("/"))

    def __call__(self, op, path, *args):
        self._check(op, path)
        if op == "rename":
            self._check(op, args[0])
        return super().__call__(op, path, *args)

    def access(self, path, mode):
        if not os.access(self._full(path), mode):
            raise FuseOSError(errno.EACCES)

    def chmod(self, path, mode):
        os.chmod(self._full(path), mode)

    def chown(self, path, uid, gid):
        os.chown(self._full(path), uid, gid, follow_symlinks=False)

    def getattr(self, path, fh=None):
        st = os.lstat(self._full(path))
        return {k: getattr(st, k) for k in ("st_atime", "st_ctime", "st_gid", "st_mode", "st_mtime", "st_nlink",
                                            "st_size", "st_uid", "st_ino", "st_blocks")}

    def readdir(self, path, fh):
        return [".", ".."] + os.listdir(self._full(path))

    def readlink(self, path):
        return os.readlink(self._full(path))

    def mknod(self, path, mode, dev):
        os.mknod(self._full(path), mode, dev)

    def rmdir(self, path):
        os.rmdir(self._full(path))

    def mkdir(self, path, mode):
        os.mkdir(self._full(path), mode)

    def statfs(self, path):
        st = os.statvfs(self._full(path))
        return {k: getattr(st, k) for k in ("f_bavail", "f_bfree", "f_blocks", "f_bsize", "f_favail", "f_ffree",
                                            "f_files", "f_flag", "f_frsize", "f_namemax")}

    def unlink(self, path):
        os.unlink(self._full(path))

    def symlink(self, name, target):
        os.symlink(target, self._full(name))

    def rename(self, old, new):
        os.rename(self._full(old), self._full(new))

    def link(self, target, name):
        os.link(self._full(name), self._full(target))

    def utimens(self, path, times=None):
        os.utime(self._full(path), times)

    def open(self, path, flags):
        return os.open(self._full(path), flags)

    def create(self, path, mode, fi=None):
        return os.open(self._full(path), os.O_RDWR | os.O_CREAT, mode)

    def read(self, path, length, offset, fh):
        return os.pread(fh, length, offset)

    def write(self, path, buf, offset, fh):
        return os.pwrite(fh, buf, offset)

    def truncate(self, path, length, fh=None):
        if fh is not None:
            os.ftruncate(fh, length)
        else:
            os.truncate(self._full(path), length)

    def flush(self, path, fh):
        pass

    def release(self, path, fh):
        os.close(fh)

    def fsync(self, path, datasync, fh):
        if datasync:
            os.fdatasync(fh)
        else:
            os.fsync(fh)


def main():
    if len(sys.argv) != 4:
        sys.exit("usage: faultfs.py ROOT MOUNTPOINT CONTROL_FILE")
    root, mountpoint, control = sys.argv[1:]
    FUSE(FaultFs(root, Control(control)), mountpoint, foreground=True, nothreads=False, allow_other=True,
         big_writes=True, max_write=131072, max_read=131072, fsname="faultfs")


if __name__ == "__main__":
    main()

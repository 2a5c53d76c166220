package io.peerfs.backend;

import io.peerfs.meta.FileAttr;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.Map;

/** A {@link Backend} that passes every call on; subclass it to observe or alter some calls. */
public class ForwardingBackend implements Backend {
    private final Backend delegate;

    public ForwardingBackend(Backend delegate) {
        this.delegate = delegate;
    }

    @Override
    public FileAttr stat(String path) throws IOException {
        return delegate.stat(path);
    }

    @Override
    public void changedHere(String path) {
        delegate.changedHere(path);
    }

    @Override
    public FileAttr statDirect(String path) throws IOException {
        return delegate.statDirect(path);
    }

    @Override
    public List<String> list(String path) throws IOException {
        return delegate.list(path);
    }

    @Override
    public String readlink(String path) throws IOException {
        return delegate.readlink(path);
    }

    @Override
    public int read(String path, long offset, ByteBuffer dst) throws IOException {
        return delegate.read(path, offset, dst);
    }

    @Override
    public int readInto(String path, long offset, ByteBuffer dst) throws IOException {
        return delegate.readInto(path, offset, dst);
    }

    @Override
    public int readVersion(String path, long offset, ByteBuffer dst, long size, long mtimeNs) throws IOException {
        return delegate.readVersion(path, offset, dst, size, mtimeNs);
    }

    @Override
    public Map<String, byte[]> xattrs(String path) throws IOException {
        return delegate.xattrs(path);
    }

    @Override
    public FsStats statfs() throws IOException {
        return delegate.statfs();
    }

    @Override
    public FileAttr replace(String path, long size, NewFile meta, Content content, String tempTag) throws IOException {
        return delegate.replace(path, size, meta, content, tempTag);
    }

    @Override
    public void createFile(String path, NewFile meta) throws IOException {
        delegate.createFile(path, meta);
    }

    @Override
    public void mkdir(String path, NewFile meta) throws IOException {
        delegate.mkdir(path, meta);
    }

    @Override
    public void mknod(String path, io.peerfs.meta.FileType type, long rdev, NewFile meta) throws IOException {
        delegate.mknod(path, type, rdev, meta);
    }

    @Override
    public void symlink(String target, String path, int uid, int gid) throws IOException {
        delegate.symlink(target, path, uid, gid);
    }

    @Override
    public void link(String from, String to) throws IOException {
        delegate.link(from, to);
    }

    @Override
    public void delete(String path) throws IOException {
        delegate.delete(path);
    }

    @Override
    public void rename(String from, String to) throws IOException {
        delegate.rename(from, to);
    }

    @Override
    public void setMode(String path, int mode) throws IOException {
        delegate.setMode(path, mode);
    }

    @Override
    public void setOwner(String path, int uid, int gid) throws IOException {
        delegate.setOwner(path, uid, gid);
    }

    @Override
    public void setTimes(String path, long atimeNs, long mtimeNs) throws IOException {
        delegate.setTimes(path, atimeNs, mtimeNs);
    }

    @Override
    public void truncate(String path, long size) throws IOException {
        delegate.truncate(path, size);
    }

    @Override
    public void setXattr(String path, String name, byte[] value) throws IOException {
        delegate.setXattr(path, name, value);
    }

    @Override
    public void removeXattr(String path, String name) throws IOException {
        delegate.removeXattr(path, name);
    }
}

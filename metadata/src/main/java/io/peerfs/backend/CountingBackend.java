package io.peerfs.backend;

import io.peerfs.meta.FileAttr;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.LongAdder;

/** Counts the calls and bytes that reach the backend: what PeerFS exists to keep small. */
public final class CountingBackend extends ForwardingBackend {
    /** A snapshot of the counters. */
    public record Counts(long metaCalls, long dataReads, long bytesRead, long changes, long uploads,
                         long bytesWritten, long listCalls) {
    }

    private final LongAdder metaCalls = new LongAdder();
    /** Directory listings among {@link #metaCalls}: what a large directory costs the store. */
    private final LongAdder listCalls = new LongAdder();
    private final LongAdder dataReads = new LongAdder();
    private final LongAdder bytesRead = new LongAdder();
    private final LongAdder changes = new LongAdder();
    private final LongAdder uploads = new LongAdder();
    private final LongAdder bytesWritten = new LongAdder();

    public CountingBackend(Backend delegate) {
        super(delegate);
    }

    public Counts counts() {
        return new Counts(metaCalls.sum(), dataReads.sum(), bytesRead.sum(), changes.sum(), uploads.sum(),
                bytesWritten.sum(), listCalls.sum());
    }

    @Override
    public FileAttr stat(String path) throws IOException {
        metaCalls.increment();
        return super.stat(path);
    }

    @Override
    public FileAttr statDirect(String path) throws IOException {
        metaCalls.increment();
        return super.statDirect(path);
    }

    @Override
    public List<String> list(String path) throws IOException {
        metaCalls.increment();
        listCalls.increment();
        return super.list(path);
    }

    @Override
    public String readlink(String path) throws IOException {
        metaCalls.increment();
        return super.readlink(path);
    }

    @Override
    public int read(String path, long offset, ByteBuffer dst) throws IOException {
        dataReads.increment();
        int n = super.read(path, offset, dst);
        bytesRead.add(n);
        return n;
    }

    @Override
    public int readInto(String path, long offset, ByteBuffer dst) throws IOException {
        dataReads.increment();
        int n = super.readInto(path, offset, dst);
        bytesRead.add(n);
        return n;
    }

    @Override
    public int readVersion(String path, long offset, ByteBuffer dst, long size, long mtimeNs) throws IOException {
        dataReads.increment();
        int n = super.readVersion(path, offset, dst, size, mtimeNs);
        bytesRead.add(n);
        return n;
    }

    @Override
    public Map<String, byte[]> xattrs(String path) throws IOException {
        metaCalls.increment();
        return super.xattrs(path);
    }

    @Override
    public FsStats statfs() throws IOException {
        metaCalls.increment();
        return super.statfs();
    }

    @Override
    public FileAttr replace(String path, long size, NewFile meta, Content content, String tempTag) throws IOException {
        uploads.increment();
        FileAttr written = super.replace(path, size, meta, content, tempTag);
        bytesWritten.add(size);
        return written;
    }

    @Override
    public void createFile(String path, NewFile meta) throws IOException {
        changes.increment();
        super.createFile(path, meta);
    }

    @Override
    public void mknod(String path, io.peerfs.meta.FileType type, long rdev, NewFile meta) throws IOException {
        changes.increment();
        super.mknod(path, type, rdev, meta);
    }

    @Override
    public void mkdir(String path, NewFile meta) throws IOException {
        changes.increment();
        super.mkdir(path, meta);
    }

    @Override
    public void symlink(String target, String path, int uid, int gid) throws IOException {
        changes.increment();
        super.symlink(target, path, uid, gid);
    }

    @Override
    public void link(String from, String to) throws IOException {
        changes.increment();
        super.link(from, to);
    }

    @Override
    public void delete(String path) throws IOException {
        changes.increment();
        super.delete(path);
    }

    @Override
    public void rename(String from, String to) throws IOException {
        changes.increment();
        super.rename(from, to);
    }

    @Override
    public void setMode(String path, int mode) throws IOException {
        changes.increment();
        super.setMode(path, mode);
    }

    @Override
    public void setOwner(String path, int uid, int gid) throws IOException {
        changes.increment();
        super.setOwner(path, uid, gid);
    }

    @Override
    public void setTimes(String path, long atimeNs, long mtimeNs) throws IOException {
        changes.increment();
        super.setTimes(path, atimeNs, mtimeNs);
    }

    @Override
    public void truncate(String path, long size) throws IOException {
        changes.increment();
        super.truncate(path, size);
    }

    @Override
    public void setXattr(String path, String name, byte[] value) throws IOException {
        changes.increment();
        super.setXattr(path, name, value);
    }

    @Override
    public void removeXattr(String path, String name) throws IOException {
        changes.increment();
        super.removeXattr(path, name);
    }
}

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
    public record Counts(long metaCalls, long dataReads, long bytesRead) {
    }

    private final LongAdder metaCalls = new LongAdder();
    private final LongAdder dataReads = new LongAdder();
    private final LongAdder bytesRead = new LongAdder();

    public CountingBackend(Backend delegate) {
        super(delegate);
    }

    public Counts counts() {
        return new Counts(metaCalls.sum(), dataReads.sum(), bytesRead.sum());
    }

    @Override
    public FileAttr stat(String path) throws IOException {
        metaCalls.increment();
        return super.stat(path);
    }

    @Override
    public List<String> list(String path) throws IOException {
        metaCalls.increment();
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
    public Map<String, byte[]> xattrs(String path) throws IOException {
        metaCalls.increment();
        return super.xattrs(path);
    }

    @Override
    public FsStats statfs() throws IOException {
        metaCalls.increment();
        return super.statfs();
    }
}

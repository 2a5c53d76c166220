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
    public Map<String, byte[]> xattrs(String path) throws IOException {
        return delegate.xattrs(path);
    }

    @Override
    public FsStats statfs() throws IOException {
        return delegate.statfs();
    }
}

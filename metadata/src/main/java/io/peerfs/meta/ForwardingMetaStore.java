package io.peerfs.meta;

import java.io.IOException;
import java.util.List;
import java.util.Optional;

/**
 * A {@link MetaStore} that passes every call on (the default methods too, so an engine's own
 * versions of them stay in use), each through one hook, {@link #call}: override that to observe
 * or guard every call, or a method to alter one.
 */
public class ForwardingMetaStore implements MetaStore {
    private final MetaStore delegate;

    public ForwardingMetaStore(MetaStore delegate) {
        this.delegate = delegate;
    }

    /** One call to the delegate, as {@link #call} runs it. */
    @FunctionalInterface
    protected interface Call<T> {
        T run() throws IOException;
    }

    /** Runs the call of the method named {@code op} ({@link #close} does not pass here). */
    protected <T> T call(String op, Call<T> call) throws IOException {
        return call.run();
    }

    @Override
    public Optional<Inode> lookup(String path) throws IOException {
        return call("lookup", () -> delegate.lookup(path));
    }

    @Override
    public Optional<Inode> get(long ino) throws IOException {
        return call("get", () -> delegate.get(ino));
    }

    @Override
    public List<String> list(String dir) throws IOException {
        return call("list", () -> delegate.list(dir));
    }

    @Override
    public Inode create(String path, Inode spec) throws IOException {
        return call("create", () -> delegate.create(path, spec));
    }

    @Override
    public Inode link(long ino, String path, long nowNs) throws IOException {
        return call("link", () -> delegate.link(ino, path, nowNs));
    }

    @Override
    public Inode unlink(String path, long nowNs) throws IOException {
        return call("unlink", () -> delegate.unlink(path, nowNs));
    }

    @Override
    public Optional<Inode> rename(String from, String to, long nowNs) throws IOException {
        return call("rename", () -> delegate.rename(from, to, nowNs));
    }

    @Override
    public Inode modify(long ino, java.util.function.UnaryOperator<Inode> change) throws IOException {
        return call("modify", () -> delegate.modify(ino, change));
    }

    @Override
    public void delete(long ino) throws IOException {
        call("delete", () -> {
            delegate.delete(ino);
            return null;
        });
    }

    @Override
    public void sync() throws IOException {
        call("sync", () -> {
            delegate.sync();
            return null;
        });
    }

    @Override
    public java.util.Set<io.peerfs.chunk.ChunkKey> referencedChunks() throws IOException {
        return call("referencedChunks", () -> delegate.referencedChunks());
    }

    @Override
    public Inode stage(String target, Inode spec, StagedFile.Writer writer) throws IOException {
        return call("stage", () -> delegate.stage(target, spec, writer));
    }

    @Override
    public void restage(long ino, String target) throws IOException {
        call("restage", () -> {
            delegate.restage(ino, target);
            return null;
        });
    }

    @Override
    public Inode unstage(long ino) throws IOException {
        return call("unstage", () -> delegate.unstage(ino));
    }

    @Override
    public void readyToUpload(long ino) throws IOException {
        call("readyToUpload", () -> {
            delegate.readyToUpload(ino);
            return null;
        });
    }

    @Override
    public java.util.SortedMap<Long, StagedFile> staged() throws IOException {
        return call("staged", () -> delegate.staged());
    }

    @Override
    public void tag(PathTag kind, String path, boolean on) throws IOException {
        call("tag", () -> {
            delegate.tag(kind, path, on);
            return null;
        });
    }

    @Override
    public java.util.Set<String> tagged(PathTag kind) throws IOException {
        return call("tagged", () -> delegate.tagged(kind));
    }

    @Override
    public void heartbeat(Member member) throws IOException {
        call("heartbeat", () -> {
            delegate.heartbeat(member);
            return null;
        });
    }

    @Override
    public List<Member> members() throws IOException {
        return call("members", () -> delegate.members());
    }

    @Override
    public void leave(String nodeId) throws IOException {
        call("leave", () -> {
            delegate.leave(nodeId);
            return null;
        });
    }

    @Override
    public List<Inode> orphans() throws IOException {
        return call("orphans", () -> delegate.orphans());
    }

    @Override
    public Inode modify(long ino, Inode seen, java.util.function.UnaryOperator<Inode> change) throws IOException {
        return call("modify", () -> delegate.modify(ino, seen, change));
    }

    @Override
    public void agree(String setting, String value, String describe) throws IOException {
        call("agree", () -> {
            delegate.agree(setting, value, describe);
            return null;
        });
    }

    @Override
    public void opened(long ino) throws IOException {
        call("opened", () -> {
            delegate.opened(ino);
            return null;
        });
    }

    @Override
    public Optional<Inode> lookupToOpen(String path) throws IOException {
        return call("lookupToOpen", () -> delegate.lookupToOpen(path));
    }

    @Override
    public Optional<Inode> closed(long ino) throws IOException {
        return call("closed", () -> delegate.closed(ino));
    }

    @Override
    public boolean openElsewhere(long ino) throws IOException {
        return call("openElsewhere", () -> delegate.openElsewhere(ino));
    }

    @Override
    public void noneOpen() throws IOException {
        call("noneOpen", () -> {
            delegate.noneOpen();
            return null;
        });
    }

    @Override
    public void close() {
        delegate.close();
    }
}

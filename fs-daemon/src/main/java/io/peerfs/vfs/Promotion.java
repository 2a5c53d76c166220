package io.peerfs.vfs;

import io.peerfs.backend.Backend;
import io.peerfs.backend.PosixException;
import io.peerfs.meta.BackendMetaCache;
import io.peerfs.meta.FileAttr;
import io.peerfs.meta.FileType;
import io.peerfs.meta.Inode;
import io.peerfs.meta.MetaStore;
import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.util.HashMap;
import java.util.Map;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code peerfs persist PATH}: writes a scratch file or tree to the backend at the same path,
 * tags the path as a result path, and then drops the scratch copy. Files are uploaded as
 * temp + rename, so running it again after a crash finishes the job.
 */
final class Promotion {
    private static final Logger log = LoggerFactory.getLogger(Promotion.class);

    private final MetaStore meta;
    private final ScratchFiles files;
    private final Backend backend;
    private final BackendMetaCache cache;
    private final ResultFiles results;
    private final LongSupplier clockNs;

    Promotion(MetaStore meta, ScratchFiles files, Backend backend, BackendMetaCache cache, ResultFiles results,
              LongSupplier clockNs) {
        this.meta = meta;
        this.files = files;
        this.backend = backend;
        this.cache = cache;
        this.results = results;
        this.clockNs = clockNs;
    }

    /** Persists the scratch entry at {@code rel}; returns the bytes written to the backend. */
    long persist(String rel) throws IOException {
        Inode top = meta.lookup(rel).orElseThrow(() -> invalid(rel,
                "only scratch files and directories are persisted; this path is already on the backend"));
        if (!Vfs.parent(rel).isEmpty() && meta.lookup(Vfs.parent(rel)).isPresent()) {
            throw invalid(rel, "its directory '" + Vfs.parent(rel) + "' is scratch too: persist that directory");
        }
        long[] bytes = {0};
        Map<String, Uploaded> uploaded = new HashMap<>();
        int count = copy(rel, top, bytes, uploaded);
        meta.tagResult(rel, true);
        remove(rel, top, uploaded);
        cache.invalidateTree(rel);
        cache.invalidate(Vfs.parent(rel));
        log.info("persisted {}: {} entries, {} bytes written to the backend; it is a result path now", rel, count,
                bytes[0]);
        return bytes[0];
    }

    private static FileSystemException invalid(String rel, String why) {
        log.warn("persist {}: {}", rel, why);
        return PosixException.of(PosixException.EINVAL, "/" + rel, null);
    }

    /** A file as it was uploaded: the scratch record read, and the backend file it became. */
    private record Uploaded(Inode from, FileAttr as) {
    }

    private int copy(String rel, Inode inode, long[] bytes, Map<String, Uploaded> uploaded) throws IOException {
        Backend.NewFile newFile = results.newFile(inode);
        switch (inode.type()) {
            case DIRECTORY -> {
                try {
                    backend.mkdir(rel, newFile);
                } catch (FileAlreadyExistsException e) {
                    if (!backend.stat(rel).isDirectory()) {
                        throw e;
                    }
                }
                int n = 1;
                for (String name : meta.list(rel)) {
                    String child = rel + "/" + name;
                    var c = meta.lookup(child);
                    if (c.isPresent()) {
                        n += copy(child, c.get(), bytes, uploaded);
                    }
                }
                return n;
            }
            case SYMLINK -> {
                try {
                    backend.symlink(inode.target(), rel, newFile.uid(), newFile.gid());
                } catch (FileAlreadyExistsException e) {
                    backend.delete(rel); // an earlier, interrupted persist made it
                    backend.symlink(inode.target(), rel, newFile.uid(), newFile.gid());
                }
                return 1;
            }
            case FILE -> {
                OpenScratch f = files.open(inode);
                try {
                    Inode current = files.current(inode);
                    FileAttr as = backend.replace(rel, current.size(), results.newFile(current),
                            (off, dst) -> files.read(f, off, dst), "peerfs-" + inode.ino());
                    uploaded.put(rel, new Uploaded(current, as));
                    bytes[0] += current.size();
                } finally {
                    files.release(f);
                }
                return 1;
            }
            default -> throw PosixException.of(PosixException.EOPNOTSUPP, "/" + rel, null);
        }
    }

    /**
     * Drops the scratch entries, deepest first; open files keep their data until closed. A
     * file's chunks become the cache entries of the backend file it was uploaded as, unless it
     * changed since (another layout: other bytes).
     */
    private void remove(String rel, Inode inode, Map<String, Uploaded> uploaded) throws IOException {
        if (inode.type() == FileType.DIRECTORY) {
            for (String name : meta.list(rel)) {
                String child = rel + "/" + name;
                var c = meta.lookup(child);
                if (c.isPresent()) {
                    remove(child, c.get(), uploaded);
                }
            }
            meta.unlink(rel, clockNs.getAsLong());
            meta.delete(inode.ino());
        } else {
            Inode gone = meta.unlink(rel, clockNs.getAsLong());
            Uploaded u = uploaded.get(rel);
            boolean same = u != null && u.from().size() == gone.size() && u.from().chunks().equals(gone.chunks());
            files.retireIfUnused(gone, rel, same ? u.as() : null);
        }
    }
}

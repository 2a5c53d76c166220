package io.peerfs.vfs;

import io.peerfs.backend.Backend;
import io.peerfs.meta.BackendMetaCache;
import io.peerfs.meta.FileAttr;
import io.peerfs.meta.FileType;
import io.peerfs.meta.Inode;
import io.peerfs.meta.MetaStore;
import java.io.IOException;
import java.nio.file.NoSuchFileException;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.UnaryOperator;

/**
 * Changes under result paths: names, attributes and xattrs are changed on the backend at
 * once; file data goes through {@link ResultFiles} (staged, uploaded as temp + rename).
 * Every change forgets what the metadata cache knew about the paths it touched.
 */
final class ResultTree {
    private final Backend backend;
    private final BackendMetaCache cache;
    private final ResultFiles files;
    private final MetaStore meta;
    private final boolean setOwners;

    ResultTree(Backend backend, BackendMetaCache cache, ResultFiles files, MetaStore meta, boolean setOwners) {
        this.backend = backend;
        this.cache = cache;
        this.files = files;
        this.meta = meta;
        this.setOwners = setOwners;
    }

    private void changed(String rel) throws IOException {
        cache.invalidateTree(rel);
        cache.invalidate(Vfs.parent(rel));
    }

    private Backend.NewFile newFile(int mode, Caller caller, long nowNs) {
        return new Backend.NewFile(mode, setOwners ? caller.uid() : -1, setOwners ? caller.gid() : -1, nowNs, nowNs,
                Map.of());
    }

    /** Creates the file on the backend (empty, so the name is taken everywhere) and stages its data. */
    ResultFiles.Opened create(String rel, int mode, Caller caller, long nowNs) throws IOException {
        backend.createFile(rel, newFile(mode, caller, nowNs));
        changed(rel);
        try {
            return files.stage(rel, Inode.fresh(0, FileType.FILE, mode, caller.uid(), caller.gid(), null, nowNs));
        } catch (IOException | RuntimeException e) {
            backend.delete(rel);
            throw e;
        }
    }

    /** Opens an existing backend file for writing: a staged copy of it, or an empty one for O_TRUNC. */
    ResultFiles.Opened openForWrite(String rel, FileAttr attr, boolean truncate, int chunkSize, long nowNs)
            throws IOException {
        Inode spec = new Inode(0, FileType.FILE, attr.mode(), attr.uid(), attr.gid(), 0, attr.atimeNs(),
                truncate ? nowNs : attr.mtimeNs(), nowNs, 1, 0, null, backend.xattrs(rel), List.of());
        if (truncate) {
            return files.stage(rel, spec);
        }
        return files.stageCopy(rel, spec, attr.size(), (off, dst) -> backend.read(rel, off, dst), chunkSize);
    }

    void mkdir(String rel, int mode, Caller caller, long nowNs) throws IOException {
        backend.mkdir(rel, newFile(mode, caller, nowNs));
        changed(rel);
    }

    /** A FIFO, socket or device node on the backend, made as the caller. */
    void mknod(String rel, FileType type, int mode, long rdev, Caller caller, long nowNs) throws IOException {
        backend.mknod(rel, type, rdev, newFile(mode, caller, nowNs));
        changed(rel);
    }

    void symlink(String target, String rel, Caller caller) throws IOException {
        backend.symlink(target, rel, setOwners ? caller.uid() : -1, setOwners ? caller.gid() : -1);
        changed(rel);
    }

    void link(String from, String to) throws IOException {
        files.uploadBelow(from); // the new name must see the data written so far
        backend.link(from, to);
        changed(from);
        changed(to);
    }

    /** unlink or rmdir: staged data at or below the name is dropped, never uploaded. */
    void remove(String rel) throws IOException {
        files.whileNamesChange(rel, null, null, () -> backend.delete(rel));
        changed(rel);
    }

    void rename(String from, String to) throws IOException {
        files.whileNamesChange(from, to, to, () -> backend.rename(from, to));
        changed(from);
        changed(to);
    }

    /**
     * Changes attributes: of the staged record when the file is being written here (the
     * upload carries them), else of the backend file.
     */
    void setAttributes(String rel, UnaryOperator<Inode> staged, BackendChange onBackend) throws IOException {
        Optional<ResultFiles.Staged> s = files.staged(rel);
        if (s.isPresent()) {
            meta.modify(s.get().ino, staged);
            files.attributesChanged(s.get());
        } else {
            onBackend.run(backend);
            changed(rel);
        }
    }

    /**
     * Sets an xattr of a result path. A staged file gets it on its backend file at once too:
     * the backend decides how much it holds (ext4 keeps one block of xattrs per inode), and
     * its refusal belongs to this setxattr, not to an upload that could never succeed.
     */
    void setXattr(String rel, String name, byte[] value, UnaryOperator<Inode> staged) throws IOException {
        if (files.staged(rel).isPresent()) {
            try {
                backend.setXattr(rel, name, value);
            } catch (java.nio.file.NoSuchFileException e) {
                // not on the backend yet: the upload brings it along, or fails to and says why
            }
        }
        setAttributes(rel, staged, b -> b.setXattr(rel, name, value));
    }

    /** A change of one backend path's attributes. */
    @FunctionalInterface
    interface BackendChange {
        void run(Backend backend) throws IOException;
    }

    void truncate(String rel, long size) throws IOException {
        backend.truncate(rel, size);
        changed(rel);
    }

    Optional<ResultFiles.Staged> staged(String rel) {
        return files.staged(rel);
    }

}

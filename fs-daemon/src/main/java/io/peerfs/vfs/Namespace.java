package io.peerfs.vfs;

import io.peerfs.backend.PosixException;
import io.peerfs.meta.BackendMetaCache;
import io.peerfs.meta.FileType;
import io.peerfs.meta.Inode;
import io.peerfs.meta.MetaStore;
import io.peerfs.meta.PathClass;
import java.io.IOException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.util.List;
import java.util.Optional;
import java.util.function.LongSupplier;

/**
 * Changes of the namespace (create-like calls, link, unlink, rmdir, rename, truncate by
 * path): each resolves the paths it names once ({@link PathClasses#forChange}, {@link
 * PathClasses#newName}, {@link PathClasses#destination}) and dispatches on the kind: scratch
 * names change in the {@link MetaStore}, result names on the backend ({@link ResultTree});
 * source data never gets here.
 */
final class Namespace {
    /** How long an rmdir of a result directory waits for files libfuse hid to be released. */
    private static final long HIDDEN_RELEASE_WAIT_NS = 10_000_000_000L;

    private final BackendMetaCache backend;
    private final MetaStore scratch;
    private final ScratchFiles scratchFiles;
    private final ResultFiles results;
    private final ResultTree resultTree;
    private final PathClasses paths;
    private final OpenFiles files;
    private final LongSupplier clockNs;

    Namespace(BackendMetaCache backend, MetaStore scratch, ScratchFiles scratchFiles, ResultFiles results,
              ResultTree resultTree, PathClasses paths, OpenFiles files, LongSupplier clockNs) {
        this.backend = backend;
        this.scratch = scratch;
        this.scratchFiles = scratchFiles;
        this.results = results;
        this.resultTree = resultTree;
        this.paths = paths;
        this.files = files;
        this.clockNs = clockNs;
    }

    void truncate(String path, long size) throws IOException {
        Node.Changeable n = paths.forChange("truncate", path);
        if (n.isDirectory()) {
            throw PosixException.of(PosixException.EISDIR, path, null);
        }
        if (n instanceof Node.Scratch s) {
            OpenScratch f = scratchFiles.open(s.inode());
            try {
                scratchFiles.truncate(f, size);
            } finally {
                scratchFiles.release(f);
            }
            return;
        }
        String rel = Vfs.rel(path);
        Optional<ResultFiles.Opened> staged = n instanceof Node.Staged ? results.open(rel) : Optional.empty();
        if (staged.isEmpty()) {
            resultTree.truncate(rel, size); // truncate(2) is atomic on the backend too
            return;
        }
        ResultFiles.Staged s = staged.get().staged();
        try {
            scratchFiles.truncate(staged.get().file(), size);
            results.changed(s);
            results.flush(s, staged.get().file());
        } finally {
            results.release(s, staged.get().file());
        }
    }

    void mkdir(String path, int mode, Caller caller) throws IOException {
        String rel = Vfs.rel(path);
        if (paths.newName(rel) == PathClass.RESULT) {
            resultTree.mkdir(rel, mode, caller, clockNs.getAsLong());
            return;
        }
        scratch.create(rel, Inode.fresh(0, FileType.DIRECTORY, mode, caller.uid(), caller.gid(), null, clockNs.getAsLong()));
    }

    /**
     * mknod(2): a regular file (made empty, as {@link OpenFiles#create} and a close would), a FIFO, a
     * socket or a device node ({@code rdev} its number); {@code mode} holds the kind and the
     * permissions. The kernel serves the special kinds itself: PeerFS stores the node.
     */
    void mknod(String path, int mode, long rdev, Caller caller) throws IOException {
        FileType type = FileType.ofMode(mode);
        if (type == FileType.FILE || (mode & FileType.S_IFMT) == 0) {
            files.release(files.create(path, mode & 07777, caller));
            return;
        }
        if (!type.isSpecial()) {
            throw PosixException.of(PosixException.EINVAL, path, null); // as mknod(2) for a directory or link
        }
        String rel = Vfs.rel(path);
        long now = clockNs.getAsLong();
        if (paths.newName(rel) == PathClass.RESULT) {
            resultTree.mknod(rel, type, mode, rdev, caller, now);
            return;
        }
        Inode node = Inode.fresh(0, type, mode, caller.uid(), caller.gid(), null, now);
        scratch.create(rel, type.isDevice() ? node.withData(rdev, List.of(), 0, now) : node);
    }

    void symlink(String target, String path, Caller caller) throws IOException {
        String rel = Vfs.rel(path);
        if (paths.newName(rel) == PathClass.RESULT) {
            resultTree.symlink(target, rel, caller);
            return;
        }
        scratch.create(rel, Inode.fresh(0, FileType.SYMLINK, 0777, caller.uid(), caller.gid(), target, clockNs.getAsLong()));
    }

    void link(String from, String to) throws IOException {
        Node.Changeable n = paths.forChange("link", from);
        String toRel = Vfs.rel(to);
        if (n instanceof Node.Scratch s) {
            requireSameClass(from, to, paths.newName(toRel) == PathClass.SCRATCH);
            scratch.link(s.inode().ino(), toRel, clockNs.getAsLong());
            return;
        }
        requireSameClass(from, to, paths.newName(toRel) == PathClass.RESULT);
        resultTree.link(Vfs.rel(from), toRel);
    }

    /** Scratch and result data live in different places: moving between them is EXDEV, as across mounts. */
    private static void requireSameClass(String from, String to, boolean same) throws FileSystemException {
        if (!same) {
            throw PosixException.of(PosixException.EXDEV, from, to);
        }
    }

    void unlink(String path) throws IOException {
        Node.Changeable n = paths.forChange("unlink", path);
        if (n.isDirectory()) {
            throw PosixException.of(PosixException.EISDIR, path, null);
        }
        if (n instanceof Node.Scratch) {
            scratchFiles.deleteIfUnused(scratch.unlink(Vfs.rel(path), clockNs.getAsLong()));
        } else {
            resultTree.remove(Vfs.rel(path));
        }
    }

    void rmdir(String path) throws IOException {
        Node.Changeable n = paths.forChange("rmdir", path);
        if (!n.isDirectory()) {
            throw new NotDirectoryException(path);
        }
        String rel = Vfs.rel(path);
        List<String> inside = scratch.list(rel);
        if (!(n instanceof Node.Scratch s)) {
            if (!inside.isEmpty()) {
                throw new java.nio.file.DirectoryNotEmptyException(path); // scratch names inside it
            }
            removeResultDir(rel);
            return;
        }
        if (HiddenNames.onlyHidden(inside)) {
            for (String name : inside) { // removed while open: the open handles keep their data
                try {
                    scratchFiles.deleteIfUnused(scratch.unlink(rel + "/" + name, clockNs.getAsLong()));
                } catch (NoSuchFileException e) {
                    // its release removed it meanwhile
                }
            }
        }
        scratch.unlink(rel, clockNs.getAsLong());
        scratch.delete(s.inode().ino());
    }

    /**
     * Removes a result directory. One whose only entries are files libfuse hid until their
     * release (see {@link HiddenNames}) is waited for briefly: those releases are on their way
     * when a process closed, unlinked and then removed the directory, and the backend would
     * refuse it until then.
     */
    private void removeResultDir(String rel) throws IOException {
        long deadline = System.nanoTime() + HIDDEN_RELEASE_WAIT_NS;
        while (true) {
            try {
                resultTree.remove(rel);
                return;
            } catch (java.nio.file.DirectoryNotEmptyException e) {
                // empty by now: the last hidden file's release came between the two calls
                List<String> left = backend.list(rel);
                if (System.nanoTime() > deadline || !left.isEmpty() && !HiddenNames.onlyHidden(left)) {
                    throw e;
                }
            }
            try {
                Thread.sleep(5);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new java.io.InterruptedIOException("rmdir of " + rel + " interrupted");
            }
        }
    }

    void rename(String from, String to) throws IOException {
        Node.Changeable n = paths.forChange("rename", from);
        String fromRel = Vfs.rel(from);
        String toRel = Vfs.rel(to);
        PathClasses.Destination dest = paths.destination(toRel);
        if (!(n instanceof Node.Scratch)) {
            requireSameClass(from, to, dest.result());
            if (n.isDirectory() && !scratch.list(fromRel).isEmpty()) {
                throw PosixException.of(PosixException.EXDEV, from, to); // scratch names inside it stay
            }
            resultTree.rename(fromRel, toRel);
            files.followRename(fromRel, toRel);
            return;
        }
        if (dest.overSource()) {
            throw paths.refuse("rename over", to);
        }
        requireSameClass(from, to, !dest.result());
        Optional<Inode> replaced = scratch.rename(fromRel, toRel, clockNs.getAsLong());
        if (replaced.isPresent()) {
            if (replaced.get().isDirectory()) {
                scratch.delete(replaced.get().ino());
            } else {
                scratchFiles.deleteIfUnused(replaced.get());
            }
        }
    }
}

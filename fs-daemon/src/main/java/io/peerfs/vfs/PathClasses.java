package io.peerfs.vfs;

import io.peerfs.meta.BackendMetaCache;
import io.peerfs.meta.FileAttr;
import io.peerfs.meta.Inode;
import io.peerfs.meta.TagStore;
import io.peerfs.meta.PathClass;
import io.peerfs.meta.ResultPaths;
import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.util.Optional;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Where a path of the mount lives and which class it is: scratch when the {@link io.peerfs.meta.MetaStore}
 * has it, result when a result glob or tag covers it (or it is staged here), else source.
 * Paths are backend-relative ({@code ""} for the root), but for the checks of a change
 * (which name the kernel path in their errors). Changes to source data are refused here.
 */
final class PathClasses {
    private static final Logger log = LoggerFactory.getLogger(PathClasses.class);
    private final BackendMetaCache backend;
    private final TagStore tagStore;
    private final ScratchFiles scratchFiles;
    private final ResultFiles results;
    private final ResultPaths resultPaths;
    /** Tagged result paths, as in the MetaStore; replaced whole on every change. */
    private volatile Set<String> tags = Set.of();
    private volatile long lastRefusalLogMs;

    PathClasses(BackendMetaCache backend, TagStore tagStore, ScratchFiles scratchFiles, ResultFiles results,
                ResultPaths resultPaths) {
        this.backend = backend;
        this.tagStore = tagStore;
        this.scratchFiles = scratchFiles;
        this.results = results;
        this.resultPaths = resultPaths;
    }

    /** Reads the tagged result paths again from the MetaStore (after a change, or at start). */
    void reloadTags() throws IOException {
        tags = Set.copyOf(tagStore.resultTags());
    }

    /** True when {@code rel} itself is tagged as a result path. */
    boolean tagged(String rel) {
        return tags.contains(rel);
    }

    /** The glob or tag that makes {@code rel} a result path, if any. */
    Optional<String> whyResult(String rel) {
        return resultPaths.why(rel, tags);
    }

    /** The scratch inode at a path, with this node's unsaved size and layout if it is open here. */
    Optional<Inode> scratchAt(String rel) throws IOException {
        if (rel.isEmpty()) {
            return Optional.empty();
        }
        return scratchFiles.lookup(rel);
    }

    /** The backend's attributes at a path, if it has one. */
    Optional<FileAttr> sourceAt(String rel) throws IOException {
        try {
            return Optional.of(backend.stat(rel));
        } catch (NoSuchFileException e) {
            return Optional.empty();
        }
    }

    /**
     * What the existing path {@code rel} is, from one lookup in each place it may live (the
     * MetaStore, the files staged here, the backend's metadata cache), in that order.
     *
     * @throws NoSuchFileException when neither side has it
     */
    Node resolve(String rel) throws IOException {
        Optional<Inode> s = scratchAt(rel);
        return s.isPresent() ? new Node.Scratch(s.get()) : resolveOutsideScratch(rel);
    }

    /** {@link #resolve} of a path known to have no scratch name. */
    private Node resolveOutsideScratch(String rel) throws IOException {
        Optional<ResultFiles.Staged> staged = results.staged(rel);
        if (staged.isPresent()) {
            Optional<Inode> current = results.current(staged.get());
            if (current.isPresent()) {
                return new Node.Staged(staged.get(), current.get());
            }
            return new Node.Result(backend.stat(rel)); // discarded meanwhile: the backend's file, if any
        }
        FileAttr attr = backend.stat(rel);
        return isResult(rel) ? new Node.Result(attr) : new Node.Source(attr);
    }

    /**
     * {@link #resolve} for a change named {@code op} at the kernel path {@code path}: the one
     * place where a change to source data is refused (EROFS, logged).
     */
    Node.Changeable forChange(String op, String path) throws IOException {
        Node n = resolve(Vfs.rel(path));
        if (n instanceof Node.Changeable c) {
            return c;
        }
        throw refuse(op, path);
    }

    /** The attributes at a path: scratch, a result file staged here (its unsaved size), or the backend's. */
    FileAttr attrOf(String rel) throws IOException {
        return resolve(rel).attr();
    }

    /** True when a change at the existing non-scratch path {@code rel} goes to the backend. */
    boolean isResult(String rel) {
        return whyResult(rel).isPresent();
    }

    /**
     * Where a rename puts its new name {@code rel}, with one lookup of it and one of its
     * directory (which must be one).
     *
     * @param scratch a scratch name is there (the MetaStore's rename replaces it)
     * @param result the name is or becomes a result file (staged here, or new under a result path in a backend directory)
     * @param overSource a source file is there, which a rename may not replace
     */
    record Destination(boolean scratch, boolean result, boolean overSource) {
    }

    Destination destination(String rel) throws IOException {
        boolean scratchParent = directoryOf(rel);
        if (scratchAt(rel).isPresent()) {
            return new Destination(true, false, false);
        }
        boolean result = results.staged(rel).isPresent() || isResult(rel) && !scratchParent;
        return new Destination(false, result, !result && sourceAt(rel).isPresent());
    }

    /**
     * Checks, with one lookup, that the directory of the new name {@code rel} is one; true when
     * it is a scratch directory (then the new name is scratch too).
     */
    private boolean directoryOf(String rel) throws IOException {
        String parent = Vfs.parent(rel);
        Node dir = resolve(parent);
        if (!dir.isDirectory()) {
            throw new NotDirectoryException(parent);
        }
        return dir instanceof Node.Scratch;
    }

    /** The class of an existing path; NoSuchFileException when neither side has it. */
    PathClass classOf(String rel) throws IOException {
        return resolve(rel).pathClass();
    }

    /**
     * Checks that a new name may be made at {@code rel} (its parent is a directory, the name is
     * free) and returns where it goes: {@code RESULT} (the backend) or {@code SCRATCH}. For a
     * scratch name the check that no scratch name is there is the MetaStore's: its create and
     * link refuse a taken name atomically, so it is not read twice.
     */
    PathClass newName(String rel) throws IOException {
        boolean scratchParent = directoryOf(rel);
        if (results.staged(rel).isPresent() || sourceAt(rel).isPresent()) {
            throw new FileAlreadyExistsException(rel);
        }
        if (scratchParent || !isResult(rel)) {
            return PathClass.SCRATCH;
        }
        if (scratchAt(rel).isPresent()) { // a scratch name made before the path was tagged
            throw new FileAlreadyExistsException(rel);
        }
        return PathClass.RESULT;
    }

    /** The error for any change to source data, logged (at most once a second) with how to write instead. */
    ReadOnlyPathException refuse(String op, String path) {
        ReadOnlyPathException e = new ReadOnlyPathException(op, path);
        long now = System.currentTimeMillis();
        if (now - lastRefusalLogMs >= 1000) {
            lastRefusalLogMs = now;
            log.warn("refused: {}", e.getMessage());
        }
        return e;
    }
}

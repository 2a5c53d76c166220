package io.peerfs.vfs;

import io.peerfs.meta.FileAttr;
import io.peerfs.meta.Inode;
import io.peerfs.meta.PathClass;

/**
 * What an existing path of the mount is, found once per operation ({@link PathClasses#resolve}):
 * each operation then dispatches on the kind instead of asking again. Only {@link Changeable}
 * kinds reach the code that changes things; source data is refused where a change resolves its
 * path ({@link PathClasses#forChange}).
 */
sealed interface Node permits Node.Source, Node.Changeable {
    /** The attributes the operation sees: scratch or staged records with this node's unsaved size. */
    FileAttr attr();

    /** Which of the three classes of {@link Vfs} the path is in. */
    PathClass pathClass();

    default boolean isDirectory() {
        return attr().isDirectory();
    }

    /** A path whose changes PeerFS makes: scratch, or result (staged here or on the backend). */
    sealed interface Changeable extends Node permits Scratch, Staged, Result {
    }

    /** A name in the scratch namespace (the MetaStore); its record is the one to compare-and-set from. */
    record Scratch(Inode inode) implements Changeable {
        @Override
        public PathClass pathClass() {
            return PathClass.SCRATCH;
        }

        @Override
        public FileAttr attr() {
            return inode.attr();
        }
    }

    /** A result file whose data is staged on this node; {@code inode} is its working record. */
    record Staged(ResultFiles.Staged file, Inode inode) implements Changeable {
        @Override
        public PathClass pathClass() {
            return PathClass.RESULT;
        }

        @Override
        public FileAttr attr() {
            return inode.attr();
        }
    }

    /** A backend path under a result path: changed on the backend at once. */
    record Result(FileAttr attr) implements Changeable {
        @Override
        public PathClass pathClass() {
            return PathClass.RESULT;
        }
    }

    /** The backend's own data, read-only through the mount. */
    record Source(FileAttr attr) implements Node {
        @Override
        public PathClass pathClass() {
            return PathClass.SOURCE;
        }
    }
}

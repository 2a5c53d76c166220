package io.peerfs.meta;

import io.peerfs.backend.PosixException;
import java.io.IOException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.util.Optional;

/**
 * The POSIX rules of the scratch namespace's changes, written once for every {@link MetaStore}
 * engine. An engine reads what a change involves inside its own atomic step (RocksDbMetaStore
 * under its lock, RedisMetaStore in a {@code WATCH}/{@code MULTI} transaction), asks the rule,
 * and writes the records the rule returns; the rule refuses with the error POSIX gives. The
 * rules keep the parent directories' times and link counts too (a directory's {@code nlink}
 * is 2 plus its subdirectories). {@code MetaStoreContract} runs both engines against them.
 *
 * <p>A parent given as empty is the backend's directory (no scratch record to change).
 */
public final class NamespaceRules {
    private NamespaceRules() {
    }

    /** A new name's parent: a scratch directory, or none there (the backend's); a scratch file is ENOTDIR. */
    public static void requireDirectory(String parent, boolean exists, boolean isDirectory)
            throws NotDirectoryException {
        if (exists && !isDirectory) {
            throw new NotDirectoryException(parent);
        }
    }

    /** What a create writes: the new inode and its changed directory. */
    public record Created(Inode inode, Optional<Inode> dir) {
    }

    /**
     * create(2), mkdir(2), mknod(2), symlink(2): a new inode numbered {@code ino} from
     * {@code spec} at a free name.
     */
    public static Created create(String path, Inode spec, long ino, boolean nameTaken, Optional<Inode> dir)
            throws FileAlreadyExistsException {
        if (nameTaken) {
            throw new FileAlreadyExistsException(path);
        }
        Inode inode = new Inode(ino, spec.type(), spec.mode(), spec.uid(), spec.gid(), spec.size(), spec.atimeNs(),
                spec.mtimeNs(), spec.ctimeNs(), spec.nlink(), spec.generation(), spec.target(), spec.xattrs(),
                spec.chunks(), spec.holders());
        return new Created(inode, dir.map(d -> d.withEntriesChanged(inode.isDirectory() ? 1 : 0, inode.ctimeNs())));
    }

    /**
     * The inode of a result file staged for upload ({@link WritebackJournal#stage}), numbered
     * {@code ino}: a file with no scratch name that counts as one link while staged, so it is
     * never an orphan.
     */
    public static Inode staged(Inode spec, long ino) {
        return new Inode(ino, FileType.FILE, spec.mode(), spec.uid(), spec.gid(), spec.size(), spec.atimeNs(),
                spec.mtimeNs(), spec.ctimeNs(), 1, spec.generation(), null, spec.xattrs(), spec.chunks(),
                spec.holders());
    }

    /** What a link writes: the file with one link more and the new name's changed directory. */
    public record Linked(Inode inode, Optional<Inode> dir) {
    }

    /** link(2): a new name for the existing file {@code inode} (inode number {@code ino}). */
    public static Linked link(String path, long ino, Optional<Inode> inode, boolean nameTaken, Optional<Inode> dir,
                              long nowNs) throws IOException {
        Inode file = inode.orElseThrow(() -> new NoSuchFileException(path, null, "inode " + ino + " is gone"));
        if (file.isDirectory()) {
            throw PosixException.of(PosixException.EPERM, path, null); // as link(2) of a directory
        }
        if (nameTaken) {
            throw new FileAlreadyExistsException(path);
        }
        return new Linked(file.withNlink(file.nlink() + 1, nowNs), dir.map(d -> d.withEntriesChanged(0, nowNs)));
    }

    /** What an unlink writes: the inode with one link fewer (0 for a directory) and its changed directory. */
    public record Unlinked(Inode inode, Optional<Inode> dir) {
    }

    /** unlink(2) and rmdir(2) of the name {@code path}; {@code hasEntries} is asked of directories only. */
    public static Unlinked unlink(String path, Optional<Inode> inode, boolean hasEntries, Optional<Inode> dir,
                                  long nowNs) throws IOException {
        Inode gone = inode.orElseThrow(() -> new NoSuchFileException(path));
        if (gone.isDirectory() && hasEntries) {
            throw new DirectoryNotEmptyException(path);
        }
        return new Unlinked(gone.withNlink(gone.isDirectory() ? 0 : gone.nlink() - 1, nowNs),
                dir.map(d -> d.withEntriesChanged(gone.isDirectory() ? -1 : 0, nowNs)));
    }

    /**
     * The first rules of rename(2), from the two names' entries alone (an engine reads the
     * records only when it goes on): the source must exist, a directory cannot move below
     * itself, and a rename onto itself or onto another name of the same file does nothing.
     *
     * @param srcIno the source's inode number, empty when it has no entry
     * @param targetIno the inode number at {@code to}, empty when the name is free
     * @return true when there is nothing to do
     */
    public static boolean renameIsNoop(String from, String to, Optional<Long> srcIno, boolean srcIsDirectory,
                                       Optional<Long> targetIno) throws IOException {
        if (srcIno.isEmpty()) {
            throw new NoSuchFileException(from);
        }
        if (from.equals(to)) {
            return true;
        }
        if (srcIsDirectory && to.startsWith(from + "/")) {
            throw PosixException.of(PosixException.EINVAL, from, to);
        }
        return targetIno.isPresent() && targetIno.get().equals(srcIno.get()); // two names of one file
    }

    /**
     * What a rename writes: the moved inode (new ctime), the replaced one with one link fewer
     * (0 for a directory) if a name was replaced, and the changed directories ({@code fromDir}
     * empty when both names are in one directory, which {@code toDir} then is).
     */
    public record Renamed(Inode moved, Optional<Inode> replaced, Optional<Inode> fromDir, Optional<Inode> toDir) {
    }

    /**
     * rename(2) once {@link #renameIsNoop} said there is something to do: a directory replaces
     * only an empty directory, a file only a file.
     *
     * @param targetHasEntries asked only when the target is a directory
     */
    public static Renamed rename(String to, Inode src, Optional<Inode> target, boolean targetHasEntries,
                                 Optional<Inode> fromDir, Optional<Inode> toDir, long nowNs) throws IOException {
        Optional<Inode> replaced = Optional.empty();
        if (target.isPresent()) {
            Inode t = target.get();
            if (src.isDirectory() && !t.isDirectory()) {
                throw new NotDirectoryException(to);
            }
            if (!src.isDirectory() && t.isDirectory()) {
                throw PosixException.of(PosixException.EISDIR, to, null);
            }
            if (t.isDirectory() && targetHasEntries) {
                throw new DirectoryNotEmptyException(to);
            }
            replaced = Optional.of(t.withNlink(t.isDirectory() ? 0 : t.nlink() - 1, nowNs));
        }
        int subdirsIn = (src.isDirectory() ? 1 : 0) - (target.isPresent() && target.get().isDirectory() ? 1 : 0);
        int subdirsOut = src.isDirectory() ? -1 : 0;
        Inode moved = src.withNlink(src.nlink(), nowNs);
        if (fromDir.map(Inode::ino).equals(toDir.map(Inode::ino))) {
            return new Renamed(moved, replaced, Optional.empty(),
                    toDir.map(d -> d.withEntriesChanged(subdirsIn + subdirsOut, nowNs)));
        }
        return new Renamed(moved, replaced, fromDir.map(d -> d.withEntriesChanged(subdirsOut, nowNs)),
                toDir.map(d -> d.withEntriesChanged(subdirsIn, nowNs)));
    }
}

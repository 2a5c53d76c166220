package io.peerfs.meta;

import java.io.IOException;
import java.util.Optional;

/**
 * The metadata a node keeps beside the store, in one engine, by role: the scratch namespace
 * ({@link ScratchNamespace}: files, directories, symlinks and special files created through the
 * mount outside result paths, which live only in node caches), the {@link WritebackJournal},
 * {@link TagStore}, {@link MemberRegistry} and {@link OpenFileRecords}; a class asks for the role
 * it uses. Names are backend-relative paths ({@code ""} is the root); a scratch name's parent may
 * be a backend directory or a scratch directory.
 *
 * <p>Every method is atomic: a concurrent reader sees a change whole or not at all.
 * Failures use the {@link java.nio.file} exceptions ({@code FileAlreadyExistsException},
 * {@code NoSuchFileException}, {@code DirectoryNotEmptyException}, {@code NotDirectoryException})
 * plus {@code PosixException} carrying the errno for EISDIR and EINVAL.
 * Implementations: {@code RocksDbMetaStore} (embedded, one node) and {@code RedisMetaStore} (shared by a
 * cluster); both pass {@code MetaStoreContract}.
 */
public interface MetaStore
        extends ScratchNamespace, WritebackJournal, TagStore, MemberRegistry, OpenFileRecords, AutoCloseable {
    /**
     * {@link #lookup}, and {@link #opened} of the inode found: one round trip on an engine
     * that can, for a file about to be opened here. A caller that does not open it after all
     * (a directory) takes the record back with {@link #closed}.
     */
    @Override
    default Optional<Inode> lookupToOpen(String path) throws IOException {
        Optional<Inode> found = lookup(path);
        if (found.isPresent()) {
            opened(found.get().ino());
        }
        return found;
    }

    /**
     * This node closed its last handle of the inode. Returns the inode's record as it stands
     * right after (empty when it is gone): whether the data may go now is judged on it.
     */
    @Override
    default Optional<Inode> closed(long ino) throws IOException {
        return get(ino);
    }

    @Override
    void close();
}

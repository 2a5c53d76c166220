package io.peerfs.meta;

import java.io.IOException;
import java.util.List;
import java.util.Optional;

/**
 * The scratch namespace: files, directories and symlinks created through the mount outside
 * result paths, which live only in node caches. Names are backend-relative paths ({@code ""}
 * is the root); a scratch name's parent may be a backend directory or a scratch directory.
 *
 * <p>Every method is atomic: a concurrent reader sees a change whole or not at all.
 * Failures use the {@link java.nio.file} exceptions ({@code FileAlreadyExistsException},
 * {@code NoSuchFileException}, {@code DirectoryNotEmptyException}, {@code NotDirectoryException})
 * plus {@code PosixException} carrying the errno for EISDIR and EINVAL.
 * Implementations: {@code RocksDbMetaStore} (embedded, one node) and {@code RedisMetaStore} (shared by a
 * cluster); both pass {@code MetaStoreContract}.
 */
public interface MetaStore extends AutoCloseable {

    /** The inode a scratch name refers to, if the name exists. */
    Optional<Inode> lookup(String path) throws IOException;

    /** An inode by number (also one with no names left, while it is still open somewhere). */
    Optional<Inode> get(long ino) throws IOException;

    /** The scratch names directly inside {@code dir}. */
    List<String> list(String dir) throws IOException;

    /**
     * Creates a name for a new inode built from {@code spec} (its {@code ino} is ignored and
     * a fresh number assigned).
     *
     * @throws java.nio.file.FileAlreadyExistsException if the name exists
     */
    Inode create(String path, Inode spec) throws IOException;

    /** Adds the name {@code path} for an existing file (hard link); returns the inode with its new link count. */
    Inode link(long ino, String path, long nowNs) throws IOException;

    /**
     * Removes a name. A directory must be empty. Returns the inode with its lowered link
     * count; at 0 its record stays until {@link #delete} (the file may still be open).
     */
    Inode unlink(String path, long nowNs) throws IOException;

    /**
     * Moves a name, and for a directory everything below it. An existing target is replaced
     * as rename(2) does (file over file, directory over empty directory) and returned with
     * its lowered link count.
     */
    Optional<Inode> rename(String from, String to, long nowNs) throws IOException;

    /**
     * Changes an inode's record as one atomic read-modify-write: {@code change} gets the
     * current record and returns the new one (it may run more than once on engines that
     * retry on conflict, so it must not have side effects).
     *
     * @return the record as stored
     * @throws java.nio.file.NoSuchFileException if the inode does not exist
     */
    Inode modify(long ino, java.util.function.UnaryOperator<Inode> change) throws IOException;

    /**
     * {@link #modify(long, java.util.function.UnaryOperator)} for a caller that holds the record
     * as it last read or wrote it: {@code change} gets {@code seen} first, and a store that can
     * compare and set writes the result without reading the record first when it is still
     * {@code seen} (on Redis one round trip instead of two). When another change came between,
     * {@code change} runs again on the record as stored. A stale {@code seen} costs a retry, never
     * a lost change.
     */
    default Inode modify(long ino, Inode seen, java.util.function.UnaryOperator<Inode> change) throws IOException {
        return modify(ino, change);
    }

    /** Deletes the record of an inode that has no names left. */
    void delete(long ino) throws IOException;

    /**
     * Makes every change made so far durable against a machine crash (fsync). Without it a
     * change survives a crash of the process, not of the machine.
     */
    void sync() throws IOException;

    /** Every chunk key that some file's layout refers to. */
    java.util.Set<io.peerfs.chunk.ChunkKey> referencedChunks() throws IOException;

    /**
     * Creates a file inode with no scratch name that holds data staged for upload to the
     * backend path {@code target} (a result file being written): the writeback journal.
     * It counts as one link while staged, so it is never an orphan.
     *
     * @param writer who opened it for writing (its upload is made as them); null where unknown
     */
    Inode stage(String target, Inode spec, StagedFile.Writer writer) throws IOException;

    /** Points a staged inode at a new backend path (the result file was renamed before upload). */
    void restage(long ino, String target) throws IOException;

    /**
     * Removes an inode from the journal (uploaded, or its backend name is gone). Returns it
     * with no links left; its record stays until {@link #delete}.
     */
    Inode unstage(long ino) throws IOException;

    /** Marks a staged inode's data as acknowledged to a writer: it must be uploaded, whatever happens. */
    void readyToUpload(long ino) throws IOException;

    /** The writeback journal: staged inode number → backend path, readiness and writer, in inode order. */
    java.util.SortedMap<Long, StagedFile> staged() throws IOException;

    /** Tags ({@code on}) or untags a backend path, and so everything below it. */
    void tag(PathTag kind, String path, boolean on) throws IOException;

    /** The paths with a tag of that kind. */
    java.util.Set<String> tagged(PathTag kind) throws IOException;

    /** Tags ({@code on}) or untags a backend path as a result path: it and everything below it. */
    default void tagResult(String path, boolean on) throws IOException {
        tag(PathTag.RESULT, path, on);
    }

    /** Paths tagged as result paths. */
    default java.util.Set<String> resultTags() throws IOException {
        return tagged(PathTag.RESULT);
    }

    /** Registers this node as a member, or refreshes its heartbeat and address. */
    void heartbeat(Member member) throws IOException;

    /** Every registered member with its last heartbeat; liveness is the caller's judgement. */
    List<Member> members() throws IOException;

    /** Removes a member (its daemon stops cleanly). */
    void leave(String nodeId) throws IOException;

    /**
     * Records a setting every node of the cluster must share (chunk size, secret) the first
     * time a mount names it, and refuses a mount whose value differs. {@code describe} is how
     * the message names this mount's value. A one-node engine may accept anything.
     */
    default void agree(String setting, String value, String describe) throws IOException {
    }

    /**
     * Records that this node has the inode open (its first handle here), so that a node
     * removing its last name leaves the data to this node's last close. A one-node engine
     * needs nothing: the node knows what it has open itself.
     */
    default void opened(long ino) throws IOException {
    }

    /**
     * {@link #lookup}, and {@link #opened} of the inode found: one round trip on an engine
     * that can, for a file about to be opened here. A caller that does not open it after all
     * (a directory) takes the record back with {@link #closed}.
     */
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
    default Optional<Inode> closed(long ino) throws IOException {
        return get(ino);
    }

    /** True when a node other than this one has the inode open (see {@link #opened}). */
    default boolean openElsewhere(long ino) throws IOException {
        return false;
    }

    /** This node has nothing open (it starts): forgets what an earlier run of it recorded. */
    default void noneOpen() throws IOException {
    }

    /** Inodes with no names left (a crash while they were open leaves them): to collect at start. */
    List<Inode> orphans() throws IOException;

    @Override
    void close();
}

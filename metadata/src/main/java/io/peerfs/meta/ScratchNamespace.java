package io.peerfs.meta;

import java.io.IOException;
import java.util.List;
import java.util.Optional;

/** The scratch namespace itself: names, inodes and their records. Every method is atomic. One role of a {@link MetaStore}. */
public interface ScratchNamespace {
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

    /** Inodes with no names left (a crash while they were open leaves them): to collect at start. */
    List<Inode> orphans() throws IOException;
}

package io.peerfs.meta;

import java.io.IOException;

/** The writeback journal: result files staged on a node until their upload. One role of a {@link MetaStore}. */
public interface WritebackJournal {
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
}

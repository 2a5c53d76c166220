package io.peerfs.meta;

import java.io.IOException;
import java.util.Optional;

/** Which node has which scratch file open, so a removal leaves the data to the last close anywhere. One role of a {@link MetaStore}. */
public interface OpenFileRecords {
    /**
     * Records that this node has the inode open (its first handle here), so that a node
     * removing its last name leaves the data to this node's last close. A one-node engine
     * needs nothing: the node knows what it has open itself.
     */
    default void opened(long ino) throws IOException {
    }

    /**
     * {@link ScratchNamespace#lookup}, and {@link #opened} of the inode found: one round trip on an engine
     * that can, for a file about to be opened here. A caller that does not open it after all
     * (a directory) takes the record back with {@link #closed}.
     */
    Optional<Inode> lookupToOpen(String path) throws IOException;

    /**
     * This node closed its last handle of the inode. Returns the inode's record as it stands
     * right after (empty when it is gone): whether the data may go now is judged on it.
     */
    Optional<Inode> closed(long ino) throws IOException;

    /** True when a node other than this one has the inode open (see {@link #opened}). */
    default boolean openElsewhere(long ino) throws IOException {
        return false;
    }

    /** This node has nothing open (it starts): forgets what an earlier run of it recorded. */
    default void noneOpen() throws IOException {
    }
}

package io.peerfs.fetch;

import io.peerfs.chunk.ChunkKey;
import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * The nodes that hold scratch chunks (DESIGN.md "Cluster"): a scratch chunk exists only on
 * the node that sealed it, so a reader elsewhere fetches it from that node, and a node that
 * deletes the file tells the holder to free it.
 */
public interface ScratchPeers {

    /** This node's id, as layouts record it. */
    String nodeId();

    /**
     * Copies the chunk {@code key} held by node {@code holder} into {@code dst}, verified.
     *
     * @return bytes copied (the chunk's length)
     * @throws io.peerfs.PeerFsException naming the node when it is not a member, does not
     *     answer in time, or does not hold the chunk
     */
    int fetch(String holder, ChunkKey key, ByteBuffer dst) throws IOException;

    /** Asks {@code holder} to drop the chunk that inode {@code ino} no longer uses; in the background, best effort. */
    void free(String holder, long ino, ChunkKey key);
}

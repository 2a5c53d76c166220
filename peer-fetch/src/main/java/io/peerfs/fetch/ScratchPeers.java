package io.peerfs.fetch;

import io.peerfs.chunk.ChunkKey;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * The nodes that hold scratch chunks (DESIGN.md "Cluster"): a scratch chunk exists on the
 * node that sealed it and on the replicas that node chose, so a reader elsewhere fetches it
 * from one of them, and a node that deletes the file tells each holder to free it.
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

    /**
     * Has up to {@code copies} other live nodes, the first by rendezvous order of the key that
     * answer, copy the chunk from this node and keep it pinned. Never fails: completes with the
     * ids of the nodes that confirmed, fewer than asked when not enough nodes could.
     */
    CompletableFuture<List<String>> replicate(long ino, ChunkKey key, int copies);

    /** Asks {@code holder} to drop the chunk that inode {@code ino} no longer uses; in the background, best effort. */
    void free(String holder, long ino, ChunkKey key);
}

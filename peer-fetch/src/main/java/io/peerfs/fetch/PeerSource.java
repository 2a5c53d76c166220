package io.peerfs.fetch;

import io.peerfs.chunk.ChunkKey;
import java.io.IOException;
import java.nio.ByteBuffer;

/** Other nodes' caches, asked on a local miss before the backend (DESIGN.md "Cluster"). */
public interface PeerSource {

    /** True when this node is the chunk's owner among the live members: it loads the chunk from the backend itself. */
    boolean ownedHere(ChunkKey key);

    /**
     * Fills {@code dst} (from its position, {@code ref.length()} bytes) with the chunk, verified,
     * from its owner or, if the owner fails, the next candidate.
     *
     * @return true when {@code dst} holds the chunk; false when no peer served it (this node
     *     is the owner after the failed ones, or all failed): the caller reads the backend
     */
    boolean fetch(ChunkRef ref, ByteBuffer dst) throws IOException;

    /**
     * Asks the chunk's owner to drop its cached copy ({@code peerfs cache evict --cluster});
     * false when no owner but this node, or it did not answer.
     */
    default boolean evict(ChunkRef ref) throws IOException {
        return false;
    }

    /**
     * Asks the chunk's owner to load it if it lacks it and keep it resident for its path's pin
     * ({@code peerfs cache pin --cluster}); false when no owner but this node, or it did not.
     */
    default boolean keep(ChunkRef ref) throws IOException {
        return false;
    }

    /**
     * Asks the chunk's owner to load it into its cache if it lacks it, sending nothing back
     * ({@code peerfs warmup --cluster}); false when no owner but this node, or it did not.
     */
    default boolean load(ChunkRef ref) throws IOException {
        return false;
    }
}

package io.peerfs.peer;

import io.peerfs.chunk.ChunkKey;
import io.peerfs.fetch.ChunkRef;

/**
 * A member's request, decoded and checked (paths beneath the backend, keys that match their
 * file): what {@link PeerService} answers. {@link #id()} is the member's request id, which
 * its answer carries.
 */
public sealed interface PeerRequest {
    long id();

    /** A chunk of a backend file: from the store, or loaded from the backend once (this node owns it). */
    record Get(long id, ChunkRef ref) implements PeerRequest {
    }

    /** Drop the cached chunk of a backend file ({@code peerfs cache evict --cluster}); scratch chunks stay. */
    record Evict(long id, ChunkRef ref) implements PeerRequest {
    }

    /**
     * Load the chunk of a backend file if it is not here and keep it resident for the pin that
     * covers its path ({@code peerfs cache pin --cluster}).
     */
    record Keep(long id, ChunkRef ref) implements PeerRequest {
    }

    /**
     * Load the chunk of a backend file into this node's cache if it is not there, sending
     * nothing back but OK ({@code peerfs warmup --cluster}: the asker keeps no copy).
     */
    record Load(long id, ChunkRef ref) implements PeerRequest {
    }

    /** A scratch chunk this node holds; never read from the backend. */
    record Held(long id, ChunkKey key) implements PeerRequest {
    }

    /** Scratch inode {@code ino} no longer uses the chunk: drop it if the namespace agrees. */
    record Free(long id, long ino, ChunkKey key) implements PeerRequest {
    }

    /** Keep a replica of the asker's scratch chunk of inode {@code ino}: fetch it from the asker. */
    record Pull(long id, long ino, ChunkKey key) implements PeerRequest {
    }

    /** A metadata question ({@link MetaCodec} kinds) about a backend path. */
    record MetaGet(long id, byte kind, String path) implements PeerRequest {
    }
}

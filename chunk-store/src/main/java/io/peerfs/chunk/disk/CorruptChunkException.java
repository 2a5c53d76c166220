package io.peerfs.chunk.disk;

import io.peerfs.PeerFsException;
import io.peerfs.chunk.ChunkKey;

/** A chunk file's bytes do not match its index record. */
final class CorruptChunkException extends PeerFsException {
    CorruptChunkException(ChunkKey key, String what) {
        super("chunk " + key + ": " + what);
    }
}

package io.peerfs.vfs;

import io.peerfs.meta.Inode;
import io.peerfs.chunk.ChunkKey;
import java.nio.ByteBuffer;
import java.util.HashSet;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * A scratch file open on this node, shared by all its handles here: the working size and
 * layout, and chunks being written, held off-heap until sealed into the chunk store. Guarded
 * by {@link #lock}; {@link #handles} by the {@link ScratchFiles} table.
 */
final class OpenScratch {
    /** A chunk being written: its bytes so far ({@code length} of them valid). */
    static final class DirtyChunk {
        final ByteBuffer buf;
        int length;

        DirtyChunk(ByteBuffer buf, int length) {
            this.buf = buf;
            this.length = length;
        }
    }

    final long ino;
    final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
    final TreeMap<Long, DirtyChunk> dirty = new TreeMap<>();
    /** Size, layout, generation and mtime as this node sees them; other fields may be stale. */
    Inode working;
    /**
     * The record as this node last read or committed it: a commit compares and sets from it, so
     * it needs no read while no other change came between (a stale one costs a retry).
     */
    Inode stored;
    /** True when {@link #working} has data not yet committed to the MetaStore. */
    boolean changed;
    /** Keys of the layout as last committed, and keys sealed since: what a commit may leave unused. */
    final Set<ChunkKey> committedKeys = new HashSet<>();
    final Set<ChunkKey> sealedSinceCommit = new HashSet<>();
    /** The nodes holding each chunk this file used since it was opened here (absent: not known). */
    final java.util.Map<ChunkKey, java.util.List<String>> holderOf = new java.util.HashMap<>();
    /** Copies of chunks sealed since the last commit, under way: the nodes that confirmed, when done. */
    final java.util.Map<ChunkKey, java.util.concurrent.CompletableFuture<java.util.List<String>>> replicating =
            new java.util.HashMap<>();
    /** Keys sealed since the last fsync: written, but not yet forced to disk. */
    final Set<ChunkKey> unsynced = new HashSet<>();
    int handles;

    OpenScratch(Inode inode) {
        this.ino = inode.ino();
        this.working = inode;
        this.stored = inode;
        io.peerfs.meta.SparseList.of(inode.chunks()).forEachPresent((k, i) -> {
            committedKeys.add(k);
            if (!inode.holders(i).isEmpty()) {
                holderOf.put(k, inode.holders(i));
            }
        });
    }
}

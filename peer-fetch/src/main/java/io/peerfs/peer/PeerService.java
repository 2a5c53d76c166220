package io.peerfs.peer;

import io.peerfs.chunk.ChunkStore;
import io.peerfs.chunk.DirectBufferPool;
import io.peerfs.fetch.ChunkFetcher;
import io.peerfs.fetch.ChunkRef;
import io.peerfs.fetch.ScratchPeers;
import io.peerfs.meta.BackendMetaCache;
import io.peerfs.meta.MetaStore;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Optional;
import java.util.zip.CRC32C;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Answers members' requests from this node's stores, with no network types: the transport
 * decodes a {@link PeerRequest}, calls {@link #answer} off its event loop (the stores and the
 * backend block), and turns what the {@link Reply} is given into frames.
 */
public final class PeerService {
    private static final Logger log = LoggerFactory.getLogger(PeerService.class);
    private final ChunkStore store;
    private final ChunkFetcher fetcher;
    private final BackendMetaCache metaCache;
    /** The scratch namespace, asked before a peer's FREE drops a chunk. */
    private final MetaStore scratch;
    private final PeerStats stats;
    private final DirectBufferPool pullBuffers;
    /**
     * Chunks read into memory to be sent because the store could not keep them (a full or
     * failing cache), over all members: each holds a chunk-sized buffer until sent, whether or
     * not its asker reads. Past it a GET is answered "busy" and the asker reads the backend.
     */
    public static final int MAX_IN_MEMORY = 8;
    /** How a drained node's refusal begins (the protocol's, see the transport's frames). */
    public static final String DRAINING = "draining:";
    private final DirectBufferPool answerBuffers;
    private final java.util.concurrent.Semaphore inMemory = new java.util.concurrent.Semaphore(MAX_IN_MEMORY);
    /** Where replicas are copied from; null until the node's network exists (PULL is refused). */
    private volatile ScratchPeers replicaSource;
    /** Whether this node is being drained: it answers no chunk or metadata question as an owner. */
    private volatile java.util.function.BooleanSupplier draining = () -> false;

    /**
     * @param metaCache answers metadata questions about directories this node owns
     * @param scratch the scratch namespace, which must agree before a chunk is freed on a peer's word
     */
    public PeerService(ChunkStore store, ChunkFetcher fetcher, BackendMetaCache metaCache, MetaStore scratch,
                       int maxChunk, PeerStats stats) {
        this.store = store;
        this.fetcher = fetcher;
        this.metaCache = metaCache;
        this.scratch = scratch;
        this.stats = stats;
        this.pullBuffers = new DirectBufferPool(maxChunk, 2);
        this.answerBuffers = new DirectBufferPool(maxChunk, MAX_IN_MEMORY);
    }

    /** Where an answer goes; exactly one of its methods is called per request. */
    public interface Reply {
        /**
         * A stored chunk file, which the reply owns from now on (and closes once sent).
         *
         * @throws IOException when nothing of it could be sent (its file is closed); the request
         *     is then answered by {@link #error}
         */
        void chunk(ChunkStore.Exported chunk) throws IOException;

        /**
         * A chunk in memory, {@code crcs} the CRC32C of each checksum block; {@code gone} runs
         * once its bytes are sent or dropped (the buffer is free again).
         */
        void chunk(ByteBuffer bytes, int[] crcs, Runnable gone) throws IOException;

        /**
         * A metadata answer: {@code status} 0 with {@code value} (a {@code FileAttr}, a list
         * of names, a link target or the xattrs, by {@code kind}), else 1 (no such file) or 2
         * (not a directory) with no value.
         */
        void meta(byte kind, byte status, Object value);

        void ok();

        void error(String message);
    }

    /**
     * Answers GET and metadata questions "draining" while {@code when} says so: the askers
     * go to the next owner ({@code peerfs drain}). Scratch chunks it holds are still served.
     */
    public void drainingWhen(java.util.function.BooleanSupplier when) {
        this.draining = when;
    }

    /** Keeps replicas of scratch chunks that members ask for (PULL), fetched from them through {@code source}. */
    public void keepReplicasFrom(ScratchPeers source) {
        this.replicaSource = source;
    }

    /** Answers {@code request} of the member {@code from} (its node id); blocks on the stores and the backend. */
    public void answer(PeerRequest request, String from, Reply reply) {
        if (draining.getAsBoolean() && (request instanceof PeerRequest.Get
                || request instanceof PeerRequest.MetaGet m && m.kind() != MetaCodec.FORGET)) {
            reply.error(DRAINING + " this node is being drained; ask the next owner");
            return;
        }
        if (request instanceof PeerRequest.Get g) {
            serve(g.ref(), from, reply);
        } else if (request instanceof PeerRequest.Held h) {
            serveHeld(h, from, reply);
        } else if (request instanceof PeerRequest.Evict e) {
            evict(e, reply);
        } else if (request instanceof PeerRequest.Keep k) {
            keep(k, reply);
        } else if (request instanceof PeerRequest.Load l) {
            load(l, reply);
        } else if (request instanceof PeerRequest.Free f) {
            free(f, reply);
        } else if (request instanceof PeerRequest.Pull p) {
            keepReplica(p, from, reply);
        } else {
            answerMeta((PeerRequest.MetaGet) request, reply);
        }
    }

    private void serve(ChunkRef ref, String to, Reply reply) {
        try {
            fetcher.loadLocally(ref);
            Optional<ChunkStore.Exported> exported = store.export(ref.key());
            if (exported.isPresent() && exported.get().length() == ref.length()) {
                reply.chunk(exported.get());
            } else {
                sendBytes(ref, reply); // the store could not keep it
            }
            stats.served(to, ref.length());
        } catch (IOException | RuntimeException e) {
            log.debug("cannot serve chunk {} of {} to a peer: {}", ref.key(), ref.backendPath(), e.toString());
            reply.error(e.toString());
        }
    }

    /** Drops a cached chunk of a backend file; a pinned one (scratch, staged) is never a GET's and stays. */
    private void evict(PeerRequest.Evict e, Reply reply) {
        try {
            fetcher.evict(e.ref());
            reply.ok();
        } catch (IOException | RuntimeException ex) {
            reply.error(ex.toString());
        }
    }

    /** Loads a chunk of a backend file into the cache if it is not there. */
    private void load(PeerRequest.Load l, Reply reply) {
        try {
            if (fetcher.loadLocally(l.ref())) {
                reply.ok();
            } else {
                reply.error("not stored: the cache did not keep " + l.ref().backendPath());
            }
        } catch (IOException | RuntimeException e) {
            reply.error(e.toString());
        }
    }

    /** Loads a chunk of a backend file if it is not here and keeps it resident for its path's pin. */
    private void keep(PeerRequest.Keep k, Reply reply) {
        try {
            if (fetcher.keepForPeer(k.ref())) {
                reply.ok();
            } else {
                reply.error("not kept: no pin covers " + k.ref().backendPath() + " here, or the cache is full");
            }
        } catch (IOException | RuntimeException e) {
            reply.error(e.toString());
        }
    }

    /** A scratch chunk from this node's store, as it is: never loaded from the backend. */
    private void serveHeld(PeerRequest.Held h, String to, Reply reply) {
        try {
            // only what this node holds as a scratch file's copy (pinned): a cached backend chunk
            // is a GET's, which names its file and so is confined like a read of it
            var exported = store.isPinned(h.key()) ? store.export(h.key()) : Optional.<ChunkStore.Exported>empty();
            if (exported.isEmpty()) {
                reply.error("chunk " + h.key() + " is not held here");
                return;
            }
            reply.chunk(exported.get());
            stats.served(to, exported.get().length());
        } catch (IOException | RuntimeException e) {
            log.debug("cannot serve held chunk {} to a peer: {}", h.key(), e.toString());
            reply.error(e.toString());
        }
    }

    /**
     * Drops a scratch chunk a peer says is no longer used: only a chunk this node stored for that
     * very inode (so a made-up inode frees nothing), and once the scratch namespace agrees.
     */
    private void free(PeerRequest.Free f, Reply reply) {
        try {
            if (f.ino() == 0 || store.scratchOwner(f.key()) != f.ino()) {
                reply.error("chunk " + f.key() + " is not held here for inode " + f.ino());
                return;
            }
            var inode = scratch.get(f.ino());
            if (inode.isPresent() && inode.get().chunks().contains(f.key())) {
                reply.error("chunk " + f.key() + " is still used by inode " + f.ino());
                return;
            }
            store.remove(f.key());
            reply.ok();
        } catch (IOException | RuntimeException e) {
            reply.error(e.toString());
        }
    }

    /** Copies a scratch chunk from the node that wrote it and keeps it pinned, as a replica. */
    private void keepReplica(PeerRequest.Pull p, String from, Reply reply) {
        ScratchPeers source = replicaSource;
        if (source == null) {
            reply.error("this node keeps no replicas yet");
            return;
        }
        ByteBuffer buf = pullBuffers.acquire();
        try {
            buf.clear();
            source.fetch(from, p.key(), buf);
            buf.flip();
            store.putScratch(p.key(), buf, p.ino()); // CacheFullException: the writer asks the next node
            stats.replicasKept.increment();
            reply.ok();
        } catch (IOException | RuntimeException e) {
            log.debug("cannot keep a replica of chunk {} of scratch inode {} from node {}: {}", p.key(), p.ino(),
                    from, e.toString());
            reply.error(e.getMessage());
        } finally {
            pullBuffers.release(buf);
        }
    }

    /** Answers from this node's metadata cache, asking its backend on a miss (never another peer). */
    private void answerMeta(PeerRequest.MetaGet m, Reply reply) {
        Object value;
        try {
            value = MetaRouting.servingPeer(() -> switch (m.kind()) {
                case MetaCodec.STAT, MetaCodec.STAT_FRESH -> metaCache.stat(m.path());
                case MetaCodec.FORGET -> {
                    metaCache.forget(m.path());
                    yield null;
                }
                case MetaCodec.LIST -> metaCache.list(m.path());
                case MetaCodec.READLINK -> metaCache.readlink(m.path());
                default -> metaCache.xattrs(m.path());
            });
        } catch (java.nio.file.NoSuchFileException e) {
            reply.meta(m.kind(), (byte) 1, null);
            stats.metaServed.increment();
            return;
        } catch (java.nio.file.NotDirectoryException e) {
            reply.meta(m.kind(), (byte) 2, null);
            stats.metaServed.increment();
            return;
        } catch (Exception e) {
            reply.error(e.toString());
            return;
        }
        reply.meta(m.kind(), (byte) 0, value);
        stats.metaServed.increment();
    }

    /** A chunk the store could not keep, read into memory and sent from there (within {@link #MAX_IN_MEMORY}). */
    private void sendBytes(ChunkRef ref, Reply reply) throws IOException {
        if (!inMemory.tryAcquire()) {
            throw new IOException("busy: " + MAX_IN_MEMORY + " chunks are being sent from memory already");
        }
        ByteBuffer buf = answerBuffers.acquire();
        Runnable gone = () -> {
            answerBuffers.release(buf);
            inMemory.release();
        };
        boolean handed = false;
        try {
            buf.limit(ref.length());
            int n = fetcher.read(ref, 0, buf);
            if (n != ref.length()) {
                throw new IOException("read " + n + " of " + ref.length() + " bytes");
            }
            buf.flip();
            int blocks = (n + ChunkStore.CHECKSUM_BLOCK - 1) / ChunkStore.CHECKSUM_BLOCK;
            int[] crcs = new int[blocks];
            for (int i = 0; i < blocks; i++) {
                CRC32C c = new CRC32C();
                c.update(buf.slice(i * ChunkStore.CHECKSUM_BLOCK, Math.min(ChunkStore.CHECKSUM_BLOCK,
                        n - i * ChunkStore.CHECKSUM_BLOCK)));
                crcs[i] = (int) c.getValue();
            }
            reply.chunk(buf, crcs, gone);
            handed = true;
        } finally {
            if (!handed) {
                gone.run();
            }
        }
    }

    /** Chunks being sent from memory now. */
    public int inMemory() {
        return MAX_IN_MEMORY - inMemory.availablePermits();
    }
}

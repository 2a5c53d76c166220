package io.peerfs.peer;

import io.netty.buffer.ByteBuf;
import io.peerfs.chunk.ChunkKey;
import io.peerfs.fetch.ChunkRef;
import io.peerfs.fetch.PeerSource;
import io.peerfs.peer.netty.NettyPeerClient;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The {@link PeerSource} of a node: asks a chunk's owner (rendezvous order over the live
 * members), then the next candidate; a peer that is down, slow or sends bad bytes costs a
 * fallback, never a failed read.
 */
public final class PeerNetwork implements PeerSource, MetaRouting.Router, io.peerfs.fetch.ScratchPeers,
        AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(PeerNetwork.class);
    /** Remote candidates asked before giving up on peers. */
    private static final int MAX_PEERS_ASKED = 2;

    private final Membership members;
    private final NettyPeerClient client;
    private final PeerStats stats;
    /** Time an owner may take beyond a peer's answer time to load a chunk from the backend for a KEEP. */
    private static final long LOAD_GRACE_MS = 60_000;
    private final long timeoutMs;
    /** Asks replicas to copy sealed scratch chunks; each request waits for one node at a time. */
    private final ExecutorService replicator = new ThreadPoolExecutor(2, 2, 60, TimeUnit.SECONDS,
            new LinkedBlockingQueue<>(), io.peerfs.peer.netty.NettyPeerServer.daemonThreads("peerfs-replicate"));
    private volatile long lastShortLogMs;

    public PeerNetwork(Membership members, NettyPeerClient client, PeerStats stats, Duration timeout) {
        this.members = members;
        this.client = client;
        this.stats = stats;
        this.timeoutMs = timeout.toMillis();
    }

    @Override
    public boolean ownedHere(ChunkKey key) {
        List<String> order = members.order(key);
        return members.self() != null && !order.isEmpty() && order.get(0).equals(members.self());
    }

    @Override
    public boolean evict(ChunkRef ref) throws IOException {
        return askOwner(ref, owner -> client.evict(owner, ref), timeoutMs);
    }

    @Override
    public boolean keep(ChunkRef ref) throws IOException {
        return askOwner(ref, owner -> client.keep(owner, ref), timeoutMs + LOAD_GRACE_MS);
    }

    @Override
    public boolean load(ChunkRef ref) throws IOException {
        return ref.shareable() && askOwner(ref, owner -> client.load(owner, ref), timeoutMs + LOAD_GRACE_MS);
    }

    /**
     * Sends the chunk's owner a request answered by OK; false when this node owns it (or none
     * does) or the owner did not answer OK in {@code waitMs}.
     */
    private boolean askOwner(ChunkRef ref, Function<String, CompletableFuture<ByteBuf>> ask, long waitMs)
            throws IOException {
        List<String> order = members.order(ref.key());
        if (order.isEmpty() || order.get(0).equals(members.self())) {
            return false;
        }
        String owner = order.get(0);
        try {
            ask.apply(owner).orTimeout(waitMs, TimeUnit.MILLISECONDS).get().release();
            return true;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted waiting for peer " + owner);
        } catch (ExecutionException e) {
            failed(owner, ref, e.getCause());
            return false;
        }
    }

    @Override
    public boolean fetch(ChunkRef ref, ByteBuffer dst) throws IOException {
        if (!ref.shareable()) {
            return false; // read at another path than its key's (renamed while open): this node reads it itself
        }
        int asked = 0;
        for (String peer : members.order(ref.key())) {
            if (peer.equals(members.self()) || asked == MAX_PEERS_ASKED) {
                return false; // this node is the owner after the peers that failed: it reads the backend
            }
            asked++;
            try {
                ByteBuf chunk = client.fetch(peer, ref).orTimeout(timeoutMs, TimeUnit.MILLISECONDS).get();
                try {
                    dst.put(chunk.nioBuffer());
                } finally {
                    chunk.release();
                }
                stats.fetched(peer, ref.length());
                return true;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new InterruptedIOException("interrupted waiting for peer " + peer);
            } catch (ExecutionException e) {
                failed(peer, ref, e.getCause());
            }
        }
        return false;
    }

    /**
     * Asks the owner of {@code path}'s directory; null when this node owns it or no peer could
     * answer (the caller asks the backend).
     */
    @Override
    public Object ask(byte kind, String path) throws IOException {
        int slash = path.lastIndexOf('/');
        String dir = "dir:" + (slash < 0 ? "" : path.substring(0, slash));
        int asked = 0;
        for (String peer : members.order(dir)) {
            if (peer.equals(members.self()) || asked == MAX_PEERS_ASKED) {
                return null;
            }
            asked++;
            try {
                ByteBuf answer = client.meta(peer, kind, path).orTimeout(timeoutMs, TimeUnit.MILLISECONDS).get();
                try {
                    if (answer.getByte(answer.readerIndex()) == MetaCodec.TOO_LARGE) {
                        return null; // any member's answer is as large: the backend, not the next peer
                    }
                    stats.metaFetched.increment();
                    return decode(kind, path, answer);
                } finally {
                    answer.release();
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new InterruptedIOException("interrupted waiting for peer " + peer);
            } catch (ExecutionException e) {
                failed(peer, "metadata of " + path, e.getCause());
            } catch (IllegalArgumentException | IndexOutOfBoundsException e) {
                failed(peer, "metadata of " + path, new IOException("malformed answer: " + e.getMessage()));
            }
        }
        return null;
    }

    private static Object decode(byte kind, String path, ByteBuf answer) throws IOException {
        byte status = answer.readByte();
        if (status == 1) {
            throw new java.nio.file.NoSuchFileException(path);
        }
        if (status == 2) {
            throw new java.nio.file.NotDirectoryException(path);
        }
        return switch (kind) {
            case MetaCodec.STAT, MetaCodec.STAT_FRESH -> MetaCodec.readAttr(answer);
            case MetaCodec.FORGET -> Boolean.TRUE;
            case MetaCodec.LIST -> MetaCodec.readNames(answer);
            case MetaCodec.READLINK -> MetaCodec.readString(answer);
            default -> MetaCodec.readXattrs(answer);
        };
    }

    private void failed(String peer, ChunkRef ref, Throwable cause) {
        failed(peer, "chunk " + ref.key(), cause);
    }

    private void failed(String peer, String what, Throwable cause) {
        stats.fallbacks.increment();
        stats.peer(peer).failures.increment();
        if (cause instanceof NettyPeerClient.PeerFailedException f && f.draining) {
            members.markDraining(peer); // asked last from now on: the next owner answers
        } else if (cause instanceof NettyPeerClient.CorruptTransferException) {
            stats.corruptTransfers.increment();
            log.warn("{}; trying the next source", cause.getMessage());
        } else if (cause instanceof TimeoutException) {
            members.markDown(peer, "no answer for " + what + " within " + timeoutMs + " ms");
        } else if (cause instanceof NettyPeerClient.PeerFailedException f && f.unreachable) {
            members.markDown(peer, f.getMessage());
        } else if (cause instanceof IOException && !(cause instanceof NettyPeerClient.PeerFailedException)) {
            members.markDown(peer, cause.getMessage()); // it broke the protocol or failed authentication
        } else {
            log.debug("peer {} could not serve {}: {}", peer, what, String.valueOf(cause));
        }
    }

    @Override
    public String nodeId() {
        return members.nodeId();
    }

    @Override
    public int fetch(String holder, io.peerfs.chunk.ChunkKey key, ByteBuffer dst) throws IOException {
        String address = members.addressOf(holder);
        if (address == null) {
            throw new HolderUnavailableException(holder, key, "it is not a member of the cluster");
        }
        if (!members.isLive(address)) {
            throw new HolderUnavailableException(holder, key, "it failed recently (" + address + ")");
        }
        try {
            ByteBuf chunk = client.fetchHeld(address, key).orTimeout(timeoutMs, TimeUnit.MILLISECONDS).get();
            try {
                int n = chunk.readableBytes();
                if (n > dst.remaining()) {
                    throw new HolderUnavailableException(holder, key, "it sent a chunk of " + n + " bytes");
                }
                dst.put(chunk.nioBuffer());
                stats.fetched(address, n);
                return n;
            } finally {
                chunk.release();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted waiting for node " + holder);
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof TimeoutException || cause instanceof NettyPeerClient.PeerFailedException f
                    && f.unreachable) {
                members.markDown(address, "no scratch chunk from node " + holder + ": " + cause.getMessage());
            }
            throw new HolderUnavailableException(holder, key, cause instanceof TimeoutException
                    ? "no answer within " + timeoutMs + " ms" : String.valueOf(cause.getMessage()));
        }
    }

    @Override
    public void free(String holder, long ino, io.peerfs.chunk.ChunkKey key) {
        try {
            String address = members.addressOf(holder);
            if (address == null || address.equals(members.self())) {
                return;
            }
            client.free(address, ino, key).orTimeout(timeoutMs, TimeUnit.MILLISECONDS).whenComplete((ok, e) -> {
                if (e != null) {
                    log.info("node {} did not free chunk {} of deleted scratch inode {}: {} ('peerfs gc' on it"
                            + " will)", holder, key, ino, e.getMessage());
                }
            });
        } catch (IOException | RuntimeException e) {
            log.info("cannot ask node {} to free chunk {}: {}", holder, key, e.toString());
        }
    }

    @Override
    public CompletableFuture<List<String>> replicate(long ino, ChunkKey key, int copies) {
        CompletableFuture<List<String>> done = new CompletableFuture<>();
        try {
            replicator.execute(() -> done.complete(replicateNow(ino, key, copies)));
        } catch (java.util.concurrent.RejectedExecutionException e) {
            done.complete(List.of()); // closing
        }
        return done;
    }

    private List<String> replicateNow(long ino, ChunkKey key, int copies) {
        List<String> confirmed = new ArrayList<>();
        for (String address : members.order(key)) {
            String id = members.nodeIdAt(address);
            if (confirmed.size() == copies) {
                break;
            }
            if (address.equals(members.self()) || id == null) {
                continue; // this node, or a static peer that never registered an id layouts could name
            }
            try { // the replica fetches the chunk from this node: two transfers' time
                client.replicate(address, ino, key).orTimeout(2 * timeoutMs, TimeUnit.MILLISECONDS).get();
                confirmed.add(id);
                stats.replicated.increment();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            } catch (ExecutionException e) {
                failed(address, "a copy of scratch chunk " + key, e.getCause());
            }
        }
        if (confirmed.size() < copies) {
            stats.underReplicated.increment();
            long now = System.currentTimeMillis();
            if (now - lastShortLogMs >= 60_000) { // one line a minute, however many chunks are short
                lastShortLogMs = now;
                log.warn("scratch chunk {} of inode {} has {} of the {} copies asked for on other nodes: not enough"
                        + " live members answered ({} chunks short so far)", key, ino, confirmed.size(), copies,
                        stats.underReplicated.sum());
            }
        }
        return confirmed;
    }

    @Override
    public void close() {
        replicator.shutdownNow();
    }

    /** The only node holding a scratch chunk cannot serve it. */
    public static final class HolderUnavailableException extends io.peerfs.PeerFsException {
        HolderUnavailableException(String holder, io.peerfs.chunk.ChunkKey key, String why) {
            super("scratch chunk " + key + " is held by node " + holder + ", which cannot serve it: " + why);
        }
    }
}

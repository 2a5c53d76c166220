package io.peerfs.peer.netty;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.DefaultFileRegion;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelOutboundHandler;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.LengthFieldBasedFrameDecoder;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.stream.ChunkedNioFile;
import io.netty.handler.stream.ChunkedWriteHandler;
import io.peerfs.PeerFsException;
import io.peerfs.Stopping;
import io.peerfs.chunk.ChunkKey;
import io.peerfs.chunk.ChunkStore;
import io.peerfs.fetch.ChunkFetcher;
import io.peerfs.fetch.ChunkRef;
import io.peerfs.meta.BackendMetaCache;
import io.peerfs.peer.MetaCodec;
import io.peerfs.peer.MetaRouting;
import io.peerfs.peer.PeerStats;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.zip.CRC32C;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Serves this node's chunks to authenticated peers. A requested chunk comes from the local
 * store, or, on a miss, is loaded from the backend once (this node is its owner) and then
 * sent. Chunk files go out zero-copy ({@link DefaultFileRegion}, sendfile). A connection
 * that fails authentication, sends a malformed or oversized frame, or stays silent is
 * closed; the server keeps serving everyone else.
 */
public final class NettyPeerServer implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(NettyPeerServer.class);
    private static final int AUTH_TIMEOUT_SECONDS = 10;
    /** Connections served at once; more are closed on arrival (each costs a descriptor the FUSE side needs too). */
    static final int MAX_CONNECTIONS = 1024;
    /**
     * Requests one connection may have being served at once; more wait, with reading paused.
     * Bounds the chunk files a peer that never reads its answers keeps open (each answer holds one).
     */
    static final int MAX_IN_FLIGHT = 64;
    /** Connections that have not proven the secret yet; more are closed on arrival. */
    static final int MAX_UNAUTHENTICATED = 128;
    /** Connections from one remote address; more are closed on arrival. A member opens one. */
    static final int MAX_PER_ADDRESS = 32;
    /**
     * Requests of all connections being answered at once (each may hold a chunk file open
     * until sent); past it every connection waits as past {@link #MAX_IN_FLIGHT}, so
     * descriptors stay bounded however many connections the members open.
     */
    static final int MAX_ANSWERING = 1024;
    /** Longest piece of a metadata answer in one frame; a longer answer is sent in parts. */
    static final int MAX_META_PART = 1 << 20;
    /** Answers sent in parts at once, over all connections; see {@link #sendMetaInParts}. */
    static final int MAX_META_STREAMS = 8;
    /** How often a connection held back by {@link #MAX_ANSWERING} looks again (others do not wake it). */
    private static final long ANSWERING_RETRY_MS = 10;

    private final byte[] secret;
    /** TLS for every connection, or null for plain TCP. */
    private final SslContext tls;
    private final ChunkStore store;
    private final ChunkFetcher fetcher;
    private final BackendMetaCache metaCache;
    /** The scratch namespace, asked before a peer's FREE drops a chunk. */
    private final io.peerfs.meta.MetaStore scratch;
    private final int maxChunk;
    private final PeerStats stats;
    private final SecureRandom random = new SecureRandom();
    private final EventLoopGroup group = new NioEventLoopGroup(2, daemonThreads("peerfs-peer-io"));
    private final ExecutorService work;
    /**
     * Copies replicas from their writers. Its own threads: a pull waits on the writer's server,
     * which may at the same time wait on this one; the serving threads must stay free for that.
     */
    private final ExecutorService pulls;
    /** Connections open now, and those of them not authenticated yet: both bounded against floods. */
    private final AtomicInteger connections = new AtomicInteger();
    private final AtomicInteger unauthenticated = new AtomicInteger();
    /** Connections open now by remote host (its address; the channel's own for a channel without one). */
    private final java.util.concurrent.ConcurrentHashMap<Object, Integer> perAddress =
            new java.util.concurrent.ConcurrentHashMap<>();
    /** Requests of all connections taken in and not answered yet; see {@link #MAX_ANSWERING}. */
    private final AtomicInteger answering = new AtomicInteger();
    private final AtomicInteger metaStreams = new AtomicInteger();
    private int maxAnswering = MAX_ANSWERING;
    private final io.peerfs.chunk.DirectBufferPool pullBuffers;
    /** Chunk files are read through these for their digest on connections without TLS. */
    private final io.peerfs.chunk.DirectBufferPool digestBuffers = new io.peerfs.chunk.DirectBufferPool(256 * 1024, 4);
    /** Where replicas are copied from; null until the node's network exists (PULL is refused). */
    private volatile io.peerfs.fetch.ScratchPeers replicaSource;
    private Channel server;

    /**
     * @param metaCache answers peers' metadata questions about directories this node owns
     * @param scratch the scratch namespace, which must agree before a chunk is freed on a peer's word
     */
    public NettyPeerServer(byte[] secret, SslContext tls, ChunkStore store, ChunkFetcher fetcher,
                           BackendMetaCache metaCache, io.peerfs.meta.MetaStore scratch, int maxChunk,
                           PeerStats stats) {
        this(secret, tls, store, fetcher, metaCache, scratch, maxChunk, stats,
                new ThreadPoolExecutor(4, 4, 60, TimeUnit.SECONDS, new ArrayBlockingQueue<>(256),
                        daemonThreads("peerfs-peer-serve")),
                new ThreadPoolExecutor(2, 2, 60, TimeUnit.SECONDS, new ArrayBlockingQueue<>(64),
                        daemonThreads("peerfs-peer-pull")));
    }

    /** With the executors for requests and for replica pulls given (tests run them on the calling thread). */
    NettyPeerServer(byte[] secret, SslContext tls, ChunkStore store, ChunkFetcher fetcher, BackendMetaCache metaCache,
                    io.peerfs.meta.MetaStore scratch, int maxChunk, PeerStats stats, ExecutorService work,
                    ExecutorService pulls) {
        this.secret = secret.clone();
        this.scratch = scratch;
        this.tls = tls;
        this.metaCache = metaCache;
        this.store = store;
        this.fetcher = fetcher;
        this.maxChunk = maxChunk;
        this.stats = stats;
        this.work = work;
        this.pulls = pulls;
        this.pullBuffers = new io.peerfs.chunk.DirectBufferPool(maxChunk, 2);
    }

    /** Lowers {@link #MAX_ANSWERING} (tests). */
    void limitAnswering(int max) {
        this.maxAnswering = max;
    }

    /** Requests being answered now, over all connections. */
    int answering() {
        return answering.get();
    }

    /** Keeps replicas of scratch chunks that peers ask for (PULL), fetched from them through {@code source}. */
    public void keepReplicasFrom(io.peerfs.fetch.ScratchPeers source) {
        this.replicaSource = source;
    }

    /** Daemon threads named {@code name-1}, {@code name-2}, …, so a stuck process shows whose they are. */
    public static java.util.concurrent.ThreadFactory daemonThreads(String name) {
        AtomicInteger n = new AtomicInteger();
        return r -> {
            Thread t = new Thread(r, name + "-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        };
    }

    /** Binds and starts serving; returns the bound address (port 0 picks a free one). */
    public InetSocketAddress start(InetSocketAddress listen) throws IOException {
        ServerBootstrap b = new ServerBootstrap().group(group).channel(NioServerSocketChannel.class)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        if (tls != null) { // chunk files then go through the TLS engine in pieces, not sendfile
                            ch.pipeline().addLast(tls.newHandler(ch.alloc()), new ChunkedWriteHandler());
                        }
                        ch.pipeline().addLast(handlers());
                    }
                });
        try {
            server = b.bind(listen).sync().channel();
        } catch (Exception e) {
            throw new PeerFsException("cannot listen for peers on " + listen.getHostString() + ":" + listen.getPort()
                    + ": " + e.getMessage(), e);
        }
        return (InetSocketAddress) server.localAddress();
    }

    /** What decodes and serves one connection, after TLS if any. */
    ChannelHandler[] handlers() {
        Session session = new Session();
        LengthFieldBasedFrameDecoder frames = new LengthFieldBasedFrameDecoder(Frames.MAX_REQUEST, 0, 4, 0, 4);
        return session.seal == null ? new ChannelHandler[] {frames, session.answers, session}
                : new ChannelHandler[] {frames, session.seal, session.answers, session};
    }

    /** One connection: challenge, authentication, then requests. */
    private final class Session extends SimpleChannelInboundHandler<ByteBuf> {
        private final byte[] nonce = new byte[Frames.NONCE];
        /** Authenticates the frames after the handshake; none with TLS, which does that itself. */
        final FrameSeal seal = tls == null ? new FrameSeal() : null;
        private boolean authenticated;
        /** Whether this connection is in {@link #connections}. */
        private boolean counted;
        private String peer = "?";
        /** The node id the peer authenticated with. */
        private String nodeName = "?";

        /** The remote host, as counted in {@link #perAddress}. */
        private Object host;
        /** Whether a look at {@link #waiting} is scheduled (event loop only). */
        private boolean retryScheduled;

        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            peer = String.valueOf(ctx.channel().remoteAddress());
            host = ctx.channel().remoteAddress() instanceof InetSocketAddress a ? a.getAddress()
                    : ctx.channel().remoteAddress();
            counted = true;
            int open = connections.incrementAndGet();
            int waiting = unauthenticated.incrementAndGet();
            int fromThere = perAddress.merge(host, 1, Integer::sum);
            if (open > MAX_CONNECTIONS || waiting > MAX_UNAUTHENTICATED || fromThere > MAX_PER_ADDRESS) {
                refuse(ctx, open > MAX_CONNECTIONS ? open - 1 + " connections open already"
                        : waiting > MAX_UNAUTHENTICATED ? waiting - 1 + " connections are still authenticating"
                        : fromThere - 1 + " connections from its address open already");
                return;
            }
            random.nextBytes(nonce);
            ctx.writeAndFlush(Frames.start(ctx.alloc(), Frames.CHALLENGE, Frames.NONCE).writeBytes(nonce));
            ctx.executor().schedule(() -> {
                if (!authenticated && ctx.channel().isActive()) {
                    refuse(ctx, "did not authenticate within " + AUTH_TIMEOUT_SECONDS + " s");
                }
            }, AUTH_TIMEOUT_SECONDS, TimeUnit.SECONDS);
        }

        /**
         * Requests of this connection taken in and not answered yet: being served, or their answer
         * written but not yet sent (the peer does not read). Event loop only.
         */
        private int inFlight;
        /** Sees every write of this session and counts an answer done once its last part is sent. */
        final ChannelOutboundHandler answers = new ChannelOutboundHandlerAdapter() {
            @Override
            public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) throws Exception {
                if (endsAnAnswer(msg)) {
                    promise = promise.unvoid();
                    ChannelHandlerContext session = ctx.pipeline().context(Session.this);
                    promise.addListener(f -> finished(session));
                }
                ctx.write(msg, promise);
            }
        };

        /** Whether the next message written is a chunk body, after its header (event loop only). */
        private boolean bodyNext;

        /**
         * Whether {@code msg} is the last part of an answer to a request: an OK, ERROR or META
         * frame (the last of a META answer in parts), or a chunk body after its header. Not the
         * header nor CHALLENGE or AUTH_OK.
         * A CHUNK header and its body are written one right after the other ({@link #sendChunk}).
         */
        private boolean endsAnAnswer(Object msg) {
            if (bodyNext) {
                bodyNext = false;
                return true;
            }
            ByteBuf b = msg instanceof FrameSeal.ChunkHead h ? h.content() : (ByteBuf) msg;
            byte type = b.getByte(b.readerIndex() + 5);
            bodyNext = type == Frames.CHUNK;
            return type == Frames.OK || type == Frames.ERROR
                    || type == Frames.META && b.getByte(b.readerIndex() + 4 + 2 + 8) != MetaCodec.MORE;
        }
        /** Requests read while {@link #MAX_IN_FLIGHT} were in flight, served as those finish (event loop only). */
        private final java.util.ArrayDeque<ByteBuf> waiting = new java.util.ArrayDeque<>();

        @Override
        protected void channelRead0(ChannelHandlerContext ctx, ByteBuf frame) throws Exception {
            if (authenticated && (!canServe(ctx) || !waiting.isEmpty())) {
                // a peer that asks faster than it reads its answers waits, reading paused: frames
                // already read (one socket read's worth) are kept, nothing more is taken in
                waiting.add(frame.retain());
                ctx.channel().config().setAutoRead(false);
                retryWhenOthersAnswered(ctx);
                return;
            }
            handle(ctx, frame);
        }

        /** Whether another request of this connection may be served now. */
        private boolean canServe(ChannelHandlerContext ctx) {
            return inFlight < MAX_IN_FLIGHT && answering.get() < maxAnswering && ctx.channel().isWritable();
        }

        /** Held back by the answers of other connections, which do not wake this one: looks again soon. */
        private void retryWhenOthersAnswered(ChannelHandlerContext ctx) {
            if (!retryScheduled && !waiting.isEmpty() && answering.get() >= maxAnswering) {
                retryScheduled = true;
                ctx.executor().schedule(() -> {
                    retryScheduled = false;
                    serveWaiting(ctx);
                }, ANSWERING_RETRY_MS, TimeUnit.MILLISECONDS);
            }
        }

        @Override
        public void channelWritabilityChanged(ChannelHandlerContext ctx) {
            // answers pile up unsent (the peer does not read them): serve and read no more requests
            // until they drain
            serveWaiting(ctx);
            ctx.fireChannelWritabilityChanged();
        }

        private void updateReading(ChannelHandlerContext ctx) {
            ctx.channel().config().setAutoRead(canServe(ctx) && waiting.isEmpty());
        }

        /** Hands a request's work to {@code pool}, counted in flight until its answer is sent. */
        private void dispatch(ChannelHandlerContext ctx, ExecutorService pool, long reqId, Runnable task) {
            inFlight++;
            answering.incrementAndGet();
            try {
                pool.execute(task);
            } catch (RejectedExecutionException e) {
                ctx.writeAndFlush(Frames.error(ctx.alloc(), reqId, "busy")); // its answer
            }
        }

        private void finished(ChannelHandlerContext ctx) {
            if (inFlight > 0) {
                inFlight--;
                answering.decrementAndGet();
            }
            serveWaiting(ctx);
        }

        private void serveWaiting(ChannelHandlerContext ctx) {
            while (!waiting.isEmpty() && ctx.channel().isActive() && canServe(ctx)) {
                ByteBuf next = waiting.poll();
                try {
                    handle(ctx, next);
                } catch (Exception e) {
                    exceptionCaught(ctx, e);
                } finally {
                    next.release();
                }
            }
            updateReading(ctx);
            retryWhenOthersAnswered(ctx);
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            for (ByteBuf b; (b = waiting.poll()) != null; ) {
                b.release();
            }
            if (counted) {
                counted = false;
                connections.decrementAndGet();
                perAddress.computeIfPresent(host, (h, n) -> n == 1 ? null : n - 1);
                if (!authenticated) {
                    unauthenticated.decrementAndGet();
                }
            }
        }

        private void handle(ChannelHandlerContext ctx, ByteBuf frame) throws Exception {
            Byte type = Frames.type(frame);
            if (type == null) {
                throw new ProtocolException("frame of an unknown protocol version");
            }
            if (!authenticated) {
                if (type != Frames.AUTH) {
                    throw new ProtocolException("request before authentication");
                }
                authenticate(ctx, frame);
                return;
            }
            if (type == Frames.META_GET) {
                long reqId = frame.readLong();
                byte kind = frame.readByte();
                int pathLen = frame.readUnsignedShort();
                if (pathLen != frame.readableBytes() || kind < MetaCodec.STAT || kind > MetaCodec.XATTRS) {
                    throw new ProtocolException("malformed metadata request");
                }
                String path = requireBackendPath(frame.readCharSequence(pathLen, StandardCharsets.UTF_8).toString());
                dispatch(ctx, work, reqId, () -> answerMeta(ctx, reqId, kind, path));
                return;
            }
            if (type == Frames.HELD || type == Frames.FREE || type == Frames.PULL) {
                long reqId = frame.readLong();
                long ino = type == Frames.HELD ? 0 : frame.readLong();
                byte[] key = new byte[16];
                frame.readBytes(key);
                if (frame.isReadable()) {
                    throw new ProtocolException("malformed scratch chunk request");
                }
                ChunkKey k = ChunkKey.fromBytes(key);
                String peerNode = nodeName;
                Runnable task = switch (type) {
                    case Frames.HELD -> () -> serveHeld(ctx, reqId, k, peerNode);
                    case Frames.FREE -> () -> free(ctx, reqId, ino, k);
                    default -> () -> keepReplica(ctx, reqId, ino, k, peerNode);
                };
                dispatch(ctx, type == Frames.PULL ? pulls : work, reqId, task);
                return;
            }
            if (type != Frames.GET) {
                throw new ProtocolException("unexpected frame type " + type);
            }
            long reqId = frame.readLong();
            byte[] key = new byte[16];
            frame.readBytes(key);
            long offset = frame.readLong();
            int length = frame.readInt();
            long size = frame.readLong();
            long mtimeNs = frame.readLong();
            int pathLen = frame.readUnsignedShort();
            if (length <= 0 || length > maxChunk || offset < 0 || offset % maxChunk != 0 || offset >= size
                    || pathLen != frame.readableBytes()) {
                throw new ProtocolException("malformed chunk request");
            }
            String path = requireBackendPath(frame.readCharSequence(pathLen, StandardCharsets.UTF_8).toString());
            ChunkRef ref = ChunkRef.of(new ChunkRef.Version(path, size, mtimeNs), path, offset / maxChunk, maxChunk);
            if (!ref.key().equals(ChunkKey.fromBytes(key)) || ref.length() != length) {
                throw new ProtocolException("chunk request whose key does not match its file and offset");
            }
            String to = nodeName;
            dispatch(ctx, work, reqId, () -> serve(ctx, reqId, ref, to));
        }

        private void authenticate(ChannelHandlerContext ctx, ByteBuf frame) throws ProtocolException {
            if (frame.readableBytes() < Frames.NONCE + Frames.MAC + 2) {
                throw new ProtocolException("short authentication frame");
            }
            byte[] clientNonce = new byte[Frames.NONCE];
            byte[] mac = new byte[Frames.MAC];
            frame.readBytes(clientNonce).readBytes(mac);
            int idLen = frame.readUnsignedShort();
            if (idLen != frame.readableBytes() || idLen > 255) {
                throw new ProtocolException("malformed authentication frame");
            }
            byte[] nodeId = new byte[idLen];
            frame.readBytes(nodeId);
            if (!MessageDigest.isEqual(mac, Frames.mac(secret, "peerfs-v1 client", nonce, clientNonce, nodeId))) {
                stats.authFailures.increment();
                refuse(ctx, "wrong cluster secret (node '" + new String(nodeId, StandardCharsets.UTF_8) + "')");
                return;
            }
            authenticated = true;
            unauthenticated.decrementAndGet();
            nodeName = new String(nodeId, StandardCharsets.UTF_8);
            peer = nodeName + "@" + ctx.channel().remoteAddress();
            ctx.writeAndFlush(Frames.start(ctx.alloc(), Frames.AUTH_OK, Frames.MAC)
                    .writeBytes(Frames.mac(secret, "peerfs-v1 server", clientNonce, nonce)));
            if (seal != null) { // AUTH_OK went out untagged; every frame after it either way is tagged
                seal.start(Frames.sessionKey(secret, true, nonce, clientNonce, nodeId),
                        Frames.sessionKey(secret, false, nonce, clientNonce, nodeId));
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            if (cause instanceof ProtocolException || cause instanceof io.netty.handler.codec.TooLongFrameException
                    || cause instanceof IndexOutOfBoundsException) {
                stats.badFrames.increment();
                refuse(ctx, cause instanceof IndexOutOfBoundsException ? "truncated frame" : cause.getMessage());
            } else {
                log.debug("peer connection {} failed: {}", peer, cause.toString());
                ctx.close();
            }
        }

        private void refuse(ChannelHandlerContext ctx, String why) {
            stats.warnRefused(peer, why);
            ctx.close();
        }
    }

    /**
     * A backend-relative path as PeerFS forms them ({@code ""}, {@code a/b}); anything that
     * could name a file outside the backend directory is a protocol violation.
     */
    static String requireBackendPath(String path) throws ProtocolException {
        if (path.isEmpty()) {
            return path;
        }
        for (String part : path.split("/", -1)) {
            if (part.isEmpty() || part.equals(".") || part.equals("..") || part.indexOf('\0') >= 0) {
                throw new ProtocolException("path outside the backend directory requested: " + path);
            }
        }
        return path;
    }

    /** A scratch chunk from this node's store, as it is: never loaded from the backend. */
    private void serveHeld(ChannelHandlerContext ctx, long reqId, ChunkKey key, String to) {
        try {
            // only what this node holds as a scratch file's copy (pinned): a cached backend chunk
            // is a GET's, which names its file and so is confined like a read of it
            var exported = store.isPinned(key) ? store.export(key) : java.util.Optional.<ChunkStore.Exported>empty();
            if (exported.isEmpty()) {
                ctx.writeAndFlush(Frames.error(ctx.alloc(), reqId, "chunk " + key + " is not held here"));
                return;
            }
            sendExported(ctx, reqId, exported.get());
            stats.served(to, exported.get().length());
        } catch (IOException | RuntimeException e) {
            log.debug("cannot serve held chunk {} to a peer: {}", key, e.toString());
            ctx.writeAndFlush(Frames.error(ctx.alloc(), reqId, e.toString()));
        }
    }

    /**
     * Drops a scratch chunk a peer says is no longer used: only a chunk this node stored for that
     * very inode (so a made-up inode frees nothing), and once the scratch namespace agrees.
     */
    private void free(ChannelHandlerContext ctx, long reqId, long ino, ChunkKey key) {
        try {
            if (ino == 0 || store.scratchOwner(key) != ino) {
                ctx.writeAndFlush(Frames.error(ctx.alloc(), reqId, "chunk " + key + " is not held here for inode "
                        + ino));
                return;
            }
            var inode = scratch.get(ino);
            if (inode.isPresent() && inode.get().chunks().contains(key)) {
                ctx.writeAndFlush(Frames.error(ctx.alloc(), reqId, "chunk " + key + " is still used by inode " + ino));
                return;
            }
            store.remove(key);
            ctx.writeAndFlush(Frames.start(ctx.alloc(), Frames.OK, 8).writeLong(reqId));
        } catch (IOException | RuntimeException e) {
            ctx.writeAndFlush(Frames.error(ctx.alloc(), reqId, e.toString()));
        }
    }

    /** Copies a scratch chunk from the node that wrote it and keeps it pinned, as a replica. */
    private void keepReplica(ChannelHandlerContext ctx, long reqId, long ino, ChunkKey key, String from) {
        io.peerfs.fetch.ScratchPeers source = replicaSource;
        if (source == null) {
            ctx.writeAndFlush(Frames.error(ctx.alloc(), reqId, "this node keeps no replicas yet"));
            return;
        }
        ByteBuffer buf = pullBuffers.acquire();
        try {
            buf.clear();
            source.fetch(from, key, buf);
            buf.flip();
            store.putScratch(key, buf, ino); // CacheFullException: the writer asks the next node
            stats.replicasKept.increment();
            ctx.writeAndFlush(Frames.start(ctx.alloc(), Frames.OK, 8).writeLong(reqId));
        } catch (IOException | RuntimeException e) {
            log.debug("cannot keep a replica of chunk {} of scratch inode {} from node {}: {}", key, ino, from,
                    e.toString());
            ctx.writeAndFlush(Frames.error(ctx.alloc(), reqId, e.getMessage()));
        } finally {
            pullBuffers.release(buf);
        }
    }

    /**
     * Sends an exported chunk file (closed once sent). On a connection without TLS its
     * SHA-256 is read here first, off the event loop, for the frame's tag ({@link FrameSeal}).
     */
    private void sendExported(ChannelHandlerContext ctx, long reqId, ChunkStore.Exported e) throws IOException {
        byte[] digest = null;
        if (ctx.pipeline().get(FrameSeal.class) != null) {
            ByteBuffer buf = digestBuffers.acquire();
            try {
                digest = FrameSeal.digest(e.file(), e.length(), buf);
            } catch (IOException | RuntimeException ex) {
                closeQuietly(e.file());
                throw ex;
            } finally {
                digestBuffers.release(buf);
            }
        }
        sendChunk(ctx, reqId, e.length(), e.blockCrcs(), body(e), digest);
    }

    /**
     * Writes a CHUNK answer, header and body in one event-loop task so that other answers
     * cannot slip between; the header carries the body's digest where frames are tagged.
     */
    private static void sendChunk(ChannelHandlerContext ctx, long reqId, int length, int[] crcs, Object body,
                                  byte[] digest) {
        ctx.executor().execute(() -> {
            ByteBuf header = Frames.chunkHeader(ctx.alloc(), reqId, length, crcs);
            ctx.write(digest == null ? header : new FrameSeal.ChunkHead(header, digest));
            ctx.writeAndFlush(body);
        });
    }

    /** Runs off the event loop: the store and the backend block. */
    private void serve(ChannelHandlerContext ctx, long reqId, ChunkRef ref, String to) {
        try {
            fetcher.loadLocally(ref);
            var exported = store.export(ref.key());
            if (exported.isPresent() && exported.get().length() == ref.length()) {
                sendExported(ctx, reqId, exported.get());
            } else {
                exported.ifPresent(e -> closeQuietly(e.file()));
                sendBytes(ctx, reqId, ref); // the store could not keep it
            }
            stats.served(to, ref.length());
        } catch (IOException | RuntimeException e) {
            log.debug("cannot serve chunk {} of {} to a peer: {}", ref.key(), ref.backendPath(), e.toString());
            ctx.writeAndFlush(Frames.error(ctx.alloc(), reqId, e.toString()));
        }
    }

    private Object body(ChunkStore.Exported e) {
        if (tls == null) {
            return new DefaultFileRegion(e.file(), 0, e.length());
        }
        try {
            return new ChunkedNioFile(e.file(), 0, e.length(), 64 * 1024);
        } catch (IOException ex) {
            throw new java.io.UncheckedIOException(ex);
        }
    }

    /** Answers from this node's metadata cache, asking its backend on a miss (never another peer). */
    private void answerMeta(ChannelHandlerContext ctx, long reqId, byte kind, String path) {
        ByteBuf answer = ctx.alloc().buffer();
        byte status = 0;
        try {
            MetaRouting.servingPeer(() -> {
                switch (kind) {
                    case MetaCodec.STAT -> MetaCodec.writeAttr(answer, metaCache.stat(path));
                    case MetaCodec.LIST -> MetaCodec.writeNames(answer, metaCache.list(path));
                    case MetaCodec.READLINK -> MetaCodec.writeString(answer, metaCache.readlink(path));
                    default -> MetaCodec.writeXattrs(answer, metaCache.xattrs(path));
                }
                return null;
            });
        } catch (java.nio.file.NoSuchFileException e) {
            status = 1;
        } catch (java.nio.file.NotDirectoryException e) {
            status = 2;
        } catch (Exception e) {
            answer.release();
            ctx.writeAndFlush(Frames.error(ctx.alloc(), reqId, e.toString()));
            return;
        }
        int part = Math.min(MAX_META_PART, maxChunk);
        if (status == 0 && answer.readableBytes() > part) {
            sendMetaInParts(ctx, reqId, answer, part);
        } else {
            ByteBuf head = Frames.start(ctx.alloc(), Frames.META, 8 + 1 + (status == 0 ? answer.readableBytes() : 0));
            head.writeLong(reqId).writeByte(status);
            ctx.writeAndFlush(io.netty.buffer.Unpooled.wrappedBuffer(head, status == 0 ? answer : releaseEmpty(answer)));
        }
        stats.metaServed.increment();
    }

    /**
     * Sends an answer longer than one frame (a listing of a large directory) in frames of
     * {@code part} bytes: status MORE with the next bytes, the last one status 0. At most
     * {@link #MAX_META_STREAMS} at once (each holds its whole answer until sent); past that the
     * asker is told TOO_LARGE and reads the backend itself.
     */
    private void sendMetaInParts(ChannelHandlerContext ctx, long reqId, ByteBuf answer, int part) {
        if (metaStreams.incrementAndGet() > MAX_META_STREAMS) {
            metaStreams.decrementAndGet();
            answer.release();
            ByteBuf head = Frames.start(ctx.alloc(), Frames.META, 8 + 1).writeLong(reqId).writeByte(MetaCodec.TOO_LARGE);
            ctx.writeAndFlush(head);
            return;
        }
        io.netty.channel.ChannelFuture last = null;
        while (answer.isReadable()) {
            int n = Math.min(part, answer.readableBytes());
            byte status = n == answer.readableBytes() ? 0 : MetaCodec.MORE;
            ByteBuf head = Frames.start(ctx.alloc(), Frames.META, 8 + 1 + n).writeLong(reqId).writeByte(status);
            last = ctx.writeAndFlush(io.netty.buffer.Unpooled.wrappedBuffer(head, answer.readRetainedSlice(n)));
        }
        answer.release();
        last.addListener(f -> metaStreams.decrementAndGet());
    }

    private static ByteBuf releaseEmpty(ByteBuf b) {
        b.release();
        return io.netty.buffer.Unpooled.EMPTY_BUFFER;
    }

    private void sendBytes(ChannelHandlerContext ctx, long reqId, ChunkRef ref) throws IOException {
        ByteBuffer buf = ByteBuffer.allocateDirect(ref.length());
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
        ByteBuf body = io.netty.buffer.Unpooled.wrappedBuffer(buf);
        byte[] digest = ctx.pipeline().get(FrameSeal.class) == null ? null : FrameSeal.digest(body, 0, n);
        sendChunk(ctx, reqId, n, crcs, body, digest);
    }

    private static void closeQuietly(java.nio.channels.FileChannel ch) {
        try {
            ch.close();
        } catch (IOException ignored) {
            // nothing to do
        }
    }

    @Override
    public void close() {
        if (server != null) {
            server.close().awaitUninterruptibly(5, TimeUnit.SECONDS);
        }
        work.shutdownNow();
        pulls.shutdownNow();
        group.shutdownGracefully(0, 2, TimeUnit.SECONDS);
        // requests being served use the stores, which the daemon closes next
        if (!Stopping.awaitStopped(work, 10) || !Stopping.awaitStopped(pulls, 10)) {
            log.warn("peer requests still running at shutdown after waiting 10 s for each pool");
        }
    }
}

package io.peerfs.peer.netty;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
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
import io.netty.handler.stream.ChunkedWriteHandler;
import io.peerfs.PeerFsException;
import io.peerfs.Stopping;
import io.peerfs.peer.MetaCodec;
import io.peerfs.peer.PeerRequest;
import io.peerfs.peer.PeerService;
import io.peerfs.peer.PeerStats;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The peer protocol's server side: authenticates each connection, decodes its requests
 * ({@link RequestDecoder}), has {@link PeerService} answer them off the event loop, and
 * sends the answers as frames ({@link FrameReplies}), with what a connection may cost bounded
 * (requests in flight, connections in all, per address and unauthenticated). A connection
 * that fails authentication, sends a malformed, oversized or badly tagged frame, or stays
 * silent is closed; the server keeps serving everyone else.
 */
public final class NettyPeerServer implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(NettyPeerServer.class);
    private static final int AUTH_TIMEOUT_SECONDS = 10;
    /** Connections served at once; more are closed on arrival (each costs a descriptor the FUSE side needs too). */
    static final int MAX_CONNECTIONS = 1024;
    /**
     * Requests one connection may have taken in and not yet answered (being made, or made and
     * not yet sent); more wait, with reading paused. Bounds what a peer that never reads its
     * answers leaves queued: headers only for chunk files (opened when their turn to be sent
     * comes), in-memory answers within their own budgets ({@link FrameReplies}).
     */
    static final int MAX_IN_FLIGHT = 64;
    /** Connections that have not proven the secret yet; more are closed on arrival. */
    static final int MAX_UNAUTHENTICATED = 128;
    /** Connections from one remote address; more are closed on arrival. A member opens one. */
    static final int MAX_PER_ADDRESS = 32;
    /**
     * Requests of all connections being answered at once: from when one is taken in until its
     * last part is handed to its connection (not until sent, so a member that does not read
     * holds no slot). Past it every connection waits as past {@link #MAX_IN_FLIGHT}: the
     * serving threads' queue and what they hold stay bounded however many connections the
     * members open.
     */
    static final int MAX_ANSWERING = 1024;
    /** How often a connection held back by {@link #MAX_ANSWERING} looks again (others do not wake it). */
    private static final long ANSWERING_RETRY_MS = 10;

    private final byte[] secret;
    /** TLS for every connection, or null for plain TCP. */
    private final SslContext tls;
    private final PeerService service;
    private final FrameReplies replies;
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
    /** Requests of all connections being answered; see {@link #MAX_ANSWERING}. */
    private final AtomicInteger answering = new AtomicInteger();
    /** Requests of all connections taken in whose answers are not sent yet (made or not). */
    private final AtomicInteger unsent = new AtomicInteger();
    private int maxAnswering = MAX_ANSWERING;
    private Channel server;

    /** Answers with {@code service}, in chunks of at most {@code maxChunk} bytes. */
    public NettyPeerServer(byte[] secret, SslContext tls, PeerService service, int maxChunk, PeerStats stats) {
        this(secret, tls, service, maxChunk, stats,
                new ThreadPoolExecutor(4, 4, 60, TimeUnit.SECONDS, new ArrayBlockingQueue<>(256),
                        daemonThreads("peerfs-peer-serve")),
                new ThreadPoolExecutor(2, 2, 60, TimeUnit.SECONDS, new ArrayBlockingQueue<>(64),
                        daemonThreads("peerfs-peer-pull")));
    }

    /** With the executors for requests and for replica pulls given (tests run them on the calling thread). */
    NettyPeerServer(byte[] secret, SslContext tls, PeerService service, int maxChunk, PeerStats stats,
                    ExecutorService work, ExecutorService pulls) {
        this.secret = secret.clone();
        this.tls = tls;
        this.service = service;
        this.replies = new FrameReplies(tls != null, maxChunk);
        this.maxChunk = maxChunk;
        this.stats = stats;
        this.work = work;
        this.pulls = pulls;
    }

    /** Lowers {@link #MAX_ANSWERING} (tests). */
    void limitAnswering(int max) {
        this.maxAnswering = max;
    }

    /** Requests being answered now, over all connections. */
    int answering() {
        return answering.get();
    }

    /** Lowers {@link FrameReplies#MAX_META_BYTES} (tests). */
    void limitMetaBytes(long max) {
        replies.limitMetaBytes(max);
    }

    /** Bytes of metadata answers waiting to be sent, over all connections. */
    long metaBytes() {
        return replies.metaBytes();
    }

    /** Requests taken in whose answers are not sent yet, over all connections. */
    int unsent() {
        return unsent.get();
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
        /** Of {@link #inFlight}, those whose answer is still being made (counted in {@link #answering}). */
        private int making;
        /**
         * Sees every write of this session: an answer is made once its last part is handed to
         * the connection, and done once that part is sent.
         */
        final ChannelOutboundHandler answers = new ChannelOutboundHandlerAdapter() {
            @Override
            public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) throws Exception {
                if (endsAnAnswer(msg)) {
                    ChannelHandlerContext session = ctx.pipeline().context(Session.this);
                    made();
                    promise = promise.unvoid();
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
         * A CHUNK header and its body are written one right after the other ({@link FrameReplies}).
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

        /**
         * Held back by the answers of other connections, which do not wake this one: looks again
         * soon. The count is read again here, after this connection found it at the bound: an
         * answer of another event loop may have freed a slot in between, and then nothing else
         * would wake requests parked with reading paused (a CI run saw that connection stall), so
         * they are served at once.
         */
        private void retryWhenOthersAnswered(ChannelHandlerContext ctx) {
            if (retryScheduled || waiting.isEmpty()) {
                return;
            }
            Runnable retry = () -> {
                retryScheduled = false;
                serveWaiting(ctx);
            };
            if (answering.get() >= maxAnswering) {
                retryScheduled = true;
                ctx.executor().schedule(retry, ANSWERING_RETRY_MS, TimeUnit.MILLISECONDS);
            } else if (inFlight < MAX_IN_FLIGHT && ctx.channel().isWritable()) {
                retryScheduled = true; // its own answers and writability wake it otherwise
                ctx.executor().execute(retry);
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
        private void dispatch(ChannelHandlerContext ctx, ExecutorService pool, PeerService.Reply reply,
                              Runnable task) {
            inFlight++;
            making++;
            answering.incrementAndGet();
            unsent.incrementAndGet();
            try {
                pool.execute(task);
            } catch (RejectedExecutionException e) {
                reply.error("busy"); // its answer
            }
        }

        /**
         * An answer's last part went to the connection: its slot over all connections is free
         * (connections waiting for one look again on their own, {@link #retryWhenOthersAnswered}).
         */
        private void made() {
            if (making > 0) {
                making--;
                answering.decrementAndGet();
            }
        }

        private void finished(ChannelHandlerContext ctx) {
            if (inFlight > 0) {
                inFlight--;
                unsent.decrementAndGet();
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
            // answers still being made or sent are no longer counted: once the pipeline is torn
            // down their writes skip the handler that would count them done, so they would stay
            // in the counts of all connections for good
            answering.addAndGet(-making);
            unsent.addAndGet(-inFlight);
            making = 0;
            inFlight = 0;
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
            PeerRequest request = RequestDecoder.decode(frame, type, maxChunk);
            String from = nodeName;
            PeerService.Reply reply = replies.to(ctx, request.id());
            dispatch(ctx, request instanceof PeerRequest.Pull ? pulls : work, reply,
                    () -> service.answer(request, from, reply));
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

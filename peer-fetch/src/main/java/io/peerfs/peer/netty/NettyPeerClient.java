package io.peerfs.peer.netty;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.netty.handler.codec.LengthFieldBasedFrameDecoder;
import io.netty.handler.ssl.SslContext;
import io.peerfs.PeerFsException;
import io.peerfs.chunk.ChunkKey;
import io.peerfs.chunk.ChunkStore;
import io.peerfs.peer.MetaCodec;
import io.peerfs.fetch.ChunkRef;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Fetches chunks from peers: one authenticated connection per peer address, requests
 * multiplexed on it by id. Every chunk received is checked against its per-block CRC32Cs
 * before a byte of it is handed out.
 */
public final class NettyPeerClient implements AutoCloseable {
    private final byte[] secret;
    /** TLS for every connection, or null for plain TCP. */
    private final SslContext tls;
    private final byte[] nodeId;
    private final int maxChunk;
    private final int connectTimeoutMs;
    private final SecureRandom random = new SecureRandom();
    private final EventLoopGroup group = new NioEventLoopGroup(2, NettyPeerServer.daemonThreads("peerfs-peer-client"));
    private final Map<String, Connection> connections = new ConcurrentHashMap<>();
    private final AtomicLong nextId = new AtomicLong(1);
    /** Longest metadata answer taken (in parts); a longer one counts as TOO_LARGE. */
    static final int MAX_META_ANSWER = 64 << 20;

    public NettyPeerClient(byte[] secret, SslContext tls, String nodeId, int maxChunk, int connectTimeoutMs) {
        this.secret = secret.clone();
        this.tls = tls;
        this.nodeId = nodeId.getBytes(StandardCharsets.UTF_8);
        this.maxChunk = maxChunk;
        this.connectTimeoutMs = connectTimeoutMs;
    }

    /**
     * A request in flight.
     *
     * @param answer the frame type that answers it (CHUNK, META or OK)
     * @param key the chunk asked for (CHUNK answers)
     * @param length the chunk's length when known, else -1
     */
    private record Pending(byte answer, ChunkKey key, int length, CompletableFuture<ByteBuf> done) {
    }

    /** A peer answered with an error, or its answer could not be used. */
    public static final class PeerFailedException extends PeerFsException {
        /** True when the peer could not be reached at all (not a refusal of one request). */
        public final boolean unreachable;
        /** True when the peer answered that it is being drained: the next owner is to be asked. */
        public final boolean draining;

        PeerFailedException(String message, boolean unreachable) {
            this(message, unreachable, false);
        }

        PeerFailedException(String message, boolean unreachable, boolean draining) {
            super(message);
            this.unreachable = unreachable;
            this.draining = draining;
        }
    }

    /**
     * Asks the peer at {@code address} for a chunk; the future completes with the whole
     * chunk, verified, which the caller must release, or fails. A timeout applied to the
     * returned future ({@code orTimeout}) makes a late answer be dropped.
     */
    public CompletableFuture<ByteBuf> fetch(String address, ChunkRef ref) {
        return send(address, Frames.CHUNK, ref.key(), ref.length(), (id, ch) -> chunkRequest(ch, Frames.GET, id, ref));
    }

    /** Asks the peer at {@code address} to drop its cached copy of a chunk; completes on its OK. */
    public CompletableFuture<ByteBuf> evict(String address, ChunkRef ref) {
        return order(address, ref, Frames.EVICT);
    }

    /**
     * Asks the peer at {@code address} to load a chunk if it lacks it and keep it resident for
     * its path's pin; completes on its OK, fails on its ERROR.
     */
    public CompletableFuture<ByteBuf> keep(String address, ChunkRef ref) {
        return order(address, ref, Frames.KEEP);
    }

    /** Asks the peer at {@code address} to load a chunk into its cache if it lacks it; completes on its OK. */
    public CompletableFuture<ByteBuf> load(String address, ChunkRef ref) {
        return order(address, ref, Frames.LOAD);
    }

    /** A request about a chunk answered by OK (or ERROR). */
    private CompletableFuture<ByteBuf> order(String address, ChunkRef ref, byte type) {
        return send(address, Frames.OK, ref.key(), -1, (id, ch) -> chunkRequest(ch, type, id, ref));
    }

    /** A GET, EVICT, KEEP or LOAD: the chunk named by its file, version and offset (the server checks the key). */
    private static ByteBuf chunkRequest(Channel ch, byte type, long id, ChunkRef ref) {
        byte[] path = ref.backendPath().getBytes(StandardCharsets.UTF_8);
        return Frames.start(ch.alloc(), type, 8 + 16 + 8 + 4 + 8 + 8 + 2 + path.length)
                .writeLong(id).writeBytes(ref.key().toBytes()).writeLong(ref.fileOffset()).writeInt(ref.length())
                .writeLong(ref.version().size()).writeLong(ref.version().mtimeNs())
                .writeShort(path.length).writeBytes(path);
    }

    /**
     * Asks the peer at {@code address} a metadata question ({@code MetaCodec} kinds); the
     * future completes with the status byte followed by the answer, which the caller releases.
     */
    public CompletableFuture<ByteBuf> meta(String address, byte kind, String path) {
        return send(address, Frames.META, null, -1, (id, ch) -> {
            byte[] p = path.getBytes(StandardCharsets.UTF_8);
            return Frames.start(ch.alloc(), Frames.META_GET, 8 + 1 + 2 + p.length).writeLong(id).writeByte(kind)
                    .writeShort(p.length).writeBytes(p);
        });
    }

    /**
     * Asks the peer at {@code address} for a scratch chunk it holds; the future completes with
     * the chunk, verified, which the caller releases, or fails when the peer does not hold it.
     */
    public CompletableFuture<ByteBuf> fetchHeld(String address, ChunkKey key) {
        return send(address, Frames.CHUNK, key, -1, (id, ch) -> Frames.start(ch.alloc(), Frames.HELD, 8 + 16)
                .writeLong(id).writeBytes(key.toBytes()));
    }

    /** Tells the peer at {@code address} that scratch inode {@code ino} no longer uses the chunk. */
    public CompletableFuture<ByteBuf> free(String address, long ino, ChunkKey key) {
        return send(address, Frames.OK, key, -1, (id, ch) -> Frames.start(ch.alloc(), Frames.FREE, 8 + 8 + 16)
                .writeLong(id).writeLong(ino).writeBytes(key.toBytes()));
    }

    /**
     * Asks the peer at {@code address} to copy scratch chunk {@code key} of inode {@code ino}
     * from this node (HELD) and keep it pinned; completes when it has.
     */
    public CompletableFuture<ByteBuf> replicate(String address, long ino, ChunkKey key) {
        return send(address, Frames.OK, key, -1, (id, ch) -> Frames.start(ch.alloc(), Frames.PULL, 8 + 8 + 16)
                .writeLong(id).writeLong(ino).writeBytes(key.toBytes()));
    }

    /** Builds a request frame for an id on a channel. */
    private interface Request {
        ByteBuf frame(long id, Channel ch);
    }

    private CompletableFuture<ByteBuf> send(String address, byte answer, ChunkKey key, int length, Request request) {
        Connection c = connections.compute(address, (a, old) -> old != null && !old.closed ? old : connect(a));
        long id = nextId.getAndIncrement();
        Pending p = new Pending(answer, key, length, new CompletableFuture<>());
        c.pending.put(id, p);
        p.done.whenComplete((n, e) -> c.pending.remove(id));
        c.ready.whenComplete((ch, e) -> {
            if (e != null) {
                p.done.completeExceptionally(e);
                return;
            }
            ch.writeAndFlush(request.frame(id, ch)).addListener(f -> {
                if (!f.isSuccess()) {
                    p.done.completeExceptionally(new PeerFailedException("cannot send to " + address + ": " + f.cause(),
                            true));
                }
            });
        });
        return p.done;
    }

    /** One connection to one peer, from connect through authentication to close. */
    private final class Connection extends SimpleChannelInboundHandler<ByteBuf> {
        final String address;
        final CompletableFuture<Channel> ready = new CompletableFuture<>();
        final Map<Long, Pending> pending = new ConcurrentHashMap<>();
        /** The parts so far of META answers sent in parts, by request (event loop only). */
        private final Map<Long, io.netty.buffer.CompositeByteBuf> parts = new java.util.HashMap<>();
        final byte[] nonce = new byte[Frames.NONCE];
        /** Authenticates the frames after the handshake; none with TLS, which does that itself. */
        final FrameSeal seal = tls == null ? new FrameSeal() : null;
        byte[] serverNonce;
        volatile boolean closed;

        Connection(String address) {
            this.address = address;
            random.nextBytes(nonce);
        }

        @Override
        protected void channelRead0(ChannelHandlerContext ctx, ByteBuf frame) throws Exception {
            Byte type = Frames.type(frame);
            if (type == null) {
                throw new ProtocolException("frame of an unknown protocol version from " + address);
            }
            if ((type == Frames.CHALLENGE || type == Frames.AUTH_OK) == ready.isDone()) {
                throw new ProtocolException("peer " + address + " sent frame type " + type
                        + (ready.isDone() ? " after the handshake" : " during the handshake"));
            }
            switch (type) {
                case Frames.CHALLENGE -> {
                    serverNonce = new byte[Frames.NONCE];
                    frame.readBytes(serverNonce);
                    byte[] mac = Frames.mac(secret, "peerfs-v1 client", serverNonce, nonce, nodeId);
                    ctx.writeAndFlush(Frames.start(ctx.alloc(), Frames.AUTH, Frames.NONCE + Frames.MAC + 2 + nodeId.length)
                            .writeBytes(nonce).writeBytes(mac).writeShort(nodeId.length).writeBytes(nodeId));
                }
                case Frames.AUTH_OK -> {
                    byte[] mac = new byte[Frames.MAC];
                    frame.readBytes(mac);
                    if (serverNonce == null
                            || !MessageDigest.isEqual(mac, Frames.mac(secret, "peerfs-v1 server", nonce, serverNonce))) {
                        throw new ProtocolException("peer " + address + " does not know the cluster secret");
                    }
                    if (seal != null) {
                        seal.start(Frames.sessionKey(secret, false, serverNonce, nonce, nodeId),
                                Frames.sessionKey(secret, true, serverNonce, nonce, nodeId));
                    }
                    ready.complete(ctx.channel());
                }
                case Frames.CHUNK -> received(frame);
                case Frames.META -> metaAnswered(frame);
                case Frames.OK -> {
                    Pending p = pending.get(frame.readLong());
                    if (p != null && p.answer() == Frames.OK) {
                        p.done.complete(io.netty.buffer.Unpooled.EMPTY_BUFFER);
                    }
                }
                case Frames.ERROR -> {
                    Pending p = pending.get(frame.readLong());
                    String msg = frame.readCharSequence(frame.readUnsignedShort(), StandardCharsets.UTF_8).toString();
                    if (p != null) {
                        p.done.completeExceptionally(new PeerFailedException("peer " + address + ": " + msg, false,
                                msg.startsWith(Frames.DRAINING)));
                    }
                }
                default -> throw new ProtocolException("unexpected frame type " + type + " from " + address);
            }
        }

        /**
         * A META frame: the whole answer, or a part of one ({@link MetaCodec#MORE}), joined
         * with the parts before it; an answer past {@link #MAX_META_ANSWER} is taken as
         * TOO_LARGE (the rest of it is dropped as it comes).
         */
        private void metaAnswered(ByteBuf frame) throws ProtocolException {
            long id = frame.readLong();
            io.netty.buffer.CompositeByteBuf sofar = parts.remove(id);
            Pending p = pending.get(id);
            if (p == null || p.answer() != Frames.META) {
                io.netty.util.ReferenceCountUtil.release(sofar); // timed out meanwhile, or not a metadata request
                return;
            }
            byte status = frame.getByte(frame.readerIndex());
            if (sofar != null && status != 0 && status != MetaCodec.MORE) {
                sofar.release();
                throw new ProtocolException("peer " + address + " ended an answer in parts with status " + status);
            }
            ByteBuf answer;
            if (status == MetaCodec.MORE || sofar != null) {
                sofar = sofar != null ? sofar : frame.alloc().compositeBuffer(Integer.MAX_VALUE)
                        .addComponent(true, io.netty.buffer.Unpooled.wrappedBuffer(new byte[] {0}));
                if (sofar.readableBytes() + frame.readableBytes() > MAX_META_ANSWER) {
                    sofar.release();
                    answer = io.netty.buffer.Unpooled.wrappedBuffer(new byte[] {MetaCodec.TOO_LARGE});
                } else {
                    sofar.addComponent(true, frame.retainedSlice(frame.readerIndex() + 1, frame.readableBytes() - 1));
                    if (status == MetaCodec.MORE) {
                        parts.put(id, sofar);
                        return;
                    }
                    answer = sofar;
                }
            } else {
                answer = frame.retainedSlice();
            }
            if (!p.done.complete(answer)) {
                answer.release();
            }
        }

        private void received(ByteBuf frame) throws ProtocolException {
            int fields = frame.readerIndex();
            long id = frame.readLong();
            int length = frame.readInt();
            int blocks = frame.readInt();
            if (length < 0 || length > maxChunk || blocks != (length + ChunkStore.CHECKSUM_BLOCK - 1) / ChunkStore.CHECKSUM_BLOCK
                    || frame.readableBytes() != 4L * blocks + length) {
                throw new ProtocolException("malformed chunk frame from " + address);
            }
            frame.skipBytes(4 * blocks); // the CRC32Cs, checked below
            Pending p = pending.get(id);
            if (p == null || p.answer() != Frames.CHUNK) {
                return; // timed out meanwhile
            }
            if (p.length() >= 0 && length != p.length()) {
                p.done.completeExceptionally(new PeerFailedException("peer " + address + " sent " + length
                        + " bytes for a chunk of " + p.length(), false));
                return;
            }
            int bad = Frames.firstBadBlock(frame, fields, frame.writerIndex());
            if (bad >= 0) {
                p.done.completeExceptionally(new CorruptTransferException(address, p.key(), bad));
                return;
            }
            ByteBuf chunk = frame.retainedSlice(frame.readerIndex(), length);
            if (!p.done.complete(chunk)) {
                chunk.release(); // timed out meanwhile
            }
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            parts.values().forEach(ByteBuf::release);
            parts.clear();
            fail(new PeerFailedException("connection to peer " + address + " closed", true));
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            fail(cause instanceof IOException io ? io : new PeerFailedException("peer " + address + ": " + cause, true));
            ctx.close();
        }

        void fail(IOException e) {
            closed = true;
            connections.remove(address, this);
            ready.completeExceptionally(e);
            pending.values().forEach(p -> p.done.completeExceptionally(e));
        }
    }

    /** A chunk from a peer failed its checksum: dropped, never handed out. */
    public static final class CorruptTransferException extends PeerFsException {
        CorruptTransferException(String address, ChunkKey key, int block) {
            super("chunk " + key + " from peer " + address + " failed its checksum in block " + block);
        }
    }

    private Connection connect(String address) {
        Connection c = new Connection(address);
        int colon = address.lastIndexOf(':');
        Bootstrap b = new Bootstrap().group(group).channel(NioSocketChannel.class)
                .option(ChannelOption.TCP_NODELAY, true)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, connectTimeoutMs)
                .handler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        int maxFrame = Frames.maxAnswer(maxChunk);
                        if (tls != null) {
                            ch.pipeline().addLast(tls.newHandler(ch.alloc()));
                        }
                        LengthFieldBasedFrameDecoder frames = new LengthFieldBasedFrameDecoder(maxFrame, 0, 4, 0, 4);
                        // a chunk frame (MiBs) is kept as the list of buffers it arrived in: merging
                        // would copy it again at every doubling, into fresh unpooled memory
                        frames.setCumulator(ByteToMessageDecoder.COMPOSITE_CUMULATOR);
                        ch.pipeline().addLast(frames);
                        if (c.seal != null) {
                            ch.pipeline().addLast(c.seal);
                        }
                        ch.pipeline().addLast(c);
                    }
                });
        ChannelFuture f = b.connect(address.substring(0, colon), Integer.parseInt(address.substring(colon + 1)));
        f.addListener(done -> {
            if (!done.isSuccess()) {
                c.fail(new PeerFailedException("cannot connect to peer " + address + ": " + done.cause().getMessage(), true));
            }
        });
        return c;
    }

    @Override
    public void close() {
        connections.values().forEach(c -> c.fail(new PeerFailedException("client closed", true)));
        group.shutdownGracefully(0, 2, TimeUnit.SECONDS);
    }
}

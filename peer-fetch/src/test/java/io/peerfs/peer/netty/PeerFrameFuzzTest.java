package io.peerfs.peer.netty;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.FileRegion;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.util.ReferenceCountUtil;
import io.peerfs.backend.ForwardingBackend;
import io.peerfs.backend.LocalDirBackend;
import io.peerfs.chunk.ByteSize;
import io.peerfs.chunk.ChunkStoreConfig;
import io.peerfs.chunk.disk.DiskChunkStore;
import io.peerfs.fetch.ChunkFetcher;
import io.peerfs.meta.BackendMetaCache;
import io.peerfs.meta.FileAttr;
import io.peerfs.meta.rocksdb.RocksDbMetaStore;
import io.peerfs.peer.MetaCodec;
import io.peerfs.peer.PeerRequest;
import io.peerfs.peer.PeerService;
import io.peerfs.peer.PeerStats;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.AbstractExecutorService;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * Coverage-guided fuzzing (Jazzer) of what a peer connection accepts: the frame decoder,
 * the authentication handshake and every request type, over the server's real pipeline in
 * an {@link EmbeddedChannel} (frames after the handshake tagged as a member would), with a
 * real chunk store and a real backend directory; and the request decoder and the service
 * each alone. Requests
 * run on the calling thread so every input is handled to its end before the checks.
 *
 * <p>Properties: no input throws out of the pipeline (a crash of the daemon); without the
 * secret nothing but the challenge is ever sent; with it, no path outside the backend
 * directory reaches the backend, and a frame longer than the bound closes the connection.
 * {@code mvn verify} replays the seeds under {@code src/test/resources/…Inputs}; with
 * {@code JAZZER_FUZZ=1} each test fuzzes for its {@code maxDuration}.
 */
class PeerFrameFuzzTest {
    private static final int CHUNK = 64 * 1024;
    private static Fixture fixture;

    /** One server for all inputs (opening RocksDB per input would be most of the run). */
    private record Fixture(NettyPeerServer server, PeerService service, byte[] secret, Set<String> outside,
                           Path outsideFile, DiskChunkStore store) {
    }

    /** The fixture's files, removed when the class is done (a fuzzing run makes one per JVM). */
    private static Path fixtureDir;

    @org.junit.jupiter.api.AfterAll
    static synchronized void removeFixture() throws IOException {
        if (fixture != null) {
            fixture.server().close();
            fixture.store().close();
            fixture = null;
        }
        if (fixtureDir != null) {
            try (var paths = Files.walk(fixtureDir)) {
                for (Path p : paths.sorted(java.util.Comparator.reverseOrder()).toList()) {
                    Files.deleteIfExists(p);
                }
            }
            fixtureDir = null;
        }
    }

    private static synchronized Fixture fixture() throws IOException {
        if (fixture == null) {
            // under target/: a fuzzing run ends its JVM from libFuzzer, past removeFixture
            Path dir = Files.createTempDirectory(Files.createDirectories(Path.of("target")), "peerfs-fuzz");
            fixtureDir = dir;
            Path backendDir = Files.createDirectories(dir.resolve("backend"));
            Files.write(backendDir.resolve("data"), new byte[3 * CHUNK + 5]);
            Files.createDirectories(backendDir.resolve("sub"));
            Files.writeString(dir.resolve("outside-secret"), OUTSIDE_BYTES);
            // a symlink out of the backend and one within it, as a user on the store could make:
            // the server resolves beneath the backend root and follows neither
            Files.createSymbolicLink(backendDir.resolve("out-lnk"), dir);
            Files.createSymbolicLink(backendDir.resolve("in-lnk"), backendDir.resolve("sub"));
            Path big = Files.createDirectories(backendDir.resolve("big")); // a listing past one frame
            for (int i = 0; i < 3000; i++) {
                Files.createFile(big.resolve(String.format("entry-%024d", i)));
            }
            Set<String> outside = ConcurrentHashMap.newKeySet();
            ForwardingBackend backend = new ForwardingBackend(LocalDirBackend.open(backendDir)) {
                private String check(String path) {
                    Path p = backendDir.resolve(path).normalize();
                    if (!p.startsWith(backendDir) || path.startsWith("/")) {
                        outside.add(path);
                    }
                    return path;
                }

                @Override
                public FileAttr stat(String path) throws IOException {
                    return super.stat(check(path));
                }

                @Override
                public FileAttr statDirect(String path) throws IOException {
                    return super.statDirect(check(path));
                }

                @Override
                public List<String> list(String path) throws IOException {
                    return super.list(check(path));
                }

                @Override
                public String readlink(String path) throws IOException {
                    return super.readlink(check(path));
                }

                @Override
                public int read(String path, long offset, ByteBuffer dst) throws IOException {
                    return super.read(check(path), offset, dst);
                }

                @Override
                public Map<String, byte[]> xattrs(String path) throws IOException {
                    return super.xattrs(check(path));
                }
            };
            DiskChunkStore store = DiskChunkStore.open(new ChunkStoreConfig(dir.resolve("cache"),
                    ByteSize.parse("64MiB"), 0));
            BackendMetaCache meta = BackendMetaCache.open(backend, dir.resolve("meta"), Duration.ofSeconds(1),
                    System::currentTimeMillis);
            byte[] secret = "fuzzing secret, 32 bytes or more".getBytes();
            PeerStats stats = new PeerStats();
            PeerService service = new PeerService(store, new ChunkFetcher(store, backend, CHUNK, 0), meta,
                    RocksDbMetaStore.open(dir.resolve("metastore")), CHUNK, stats);
            NettyPeerServer server = new NettyPeerServer(secret, null, service, CHUNK, stats, new DirectExecutor(),
                    new DirectExecutor());
            fixture = new Fixture(server, service, secret, outside, dir.resolve("outside-secret"), store);
        }
        return fixture;
    }

    @FuzzTest(maxDuration = "30s")
    void withoutTheSecretNothingButTheChallengeIsSent(FuzzedDataProvider data) throws IOException {
        EmbeddedChannel ch = new EmbeddedChannel(fixture().server().handlers());
        try {
            challenge(ch).release();
            feed(ch, data);
            Object sent = ch.readOutbound();
            assertNull(sent, () -> "a connection that never authenticated was sent " + describe(sent));
            ch.checkException();
        } finally {
            ch.finishAndReleaseAll();
        }
    }

    @FuzzTest(maxDuration = "30s")
    void authenticatedRequestsNeverReachOutsideTheBackend(FuzzedDataProvider data) throws IOException {
        Fixture f = fixture();
        EmbeddedChannel ch = new EmbeddedChannel(f.server().handlers());
        try {
            f.outside().clear();
            Peer peer = authenticate(ch, f.secret());
            byte[] input = data.consumeRemainingAsBytes();
            peer.sendTagged(input);
            ch.runPendingTasks();
            drain(ch);
            ch.checkException();
            assertTrue(f.outside().isEmpty(), () -> "paths outside the backend were asked for: " + f.outside());
            if (input.length >= 4 && Integer.toUnsignedLong(ByteBuffer.wrap(input).getInt()) > Frames.MAX_REQUEST) {
                assertTrue(!ch.isOpen(), "a first frame longer than the bound closes the connection");
            }
        } finally {
            ch.finishAndReleaseAll();
        }
    }

    private static final String OUTSIDE_BYTES = "must never be served";
    private static final byte[] REQUEST_TYPES = {Frames.GET, Frames.HELD, Frames.FREE, Frames.PULL, Frames.META_GET,
        Frames.AUTH, Frames.CHUNK, 99};

    /** The decoder alone: any bytes give a request that stays beneath the backend, or a refusal. */
    @FuzzTest(maxDuration = "15s")
    void theDecoderAnswersACheckedRequestOrRefusesTheFrame(FuzzedDataProvider data) {
        byte type = data.pickValue(REQUEST_TYPES);
        ByteBuf frame = Unpooled.wrappedBuffer(data.consumeRemainingAsBytes());
        try {
            PeerRequest r = RequestDecoder.decode(frame, type, CHUNK);
            String path = r instanceof PeerRequest.Get g ? g.ref().backendPath()
                    : r instanceof PeerRequest.MetaGet m ? m.path() : "";
            assertTrue(path.isEmpty() || !path.startsWith("/") && !("/" + path + "/").contains("/../")
                    && !("/" + path + "/").contains("/./") && !path.contains("//") && path.indexOf('\0') < 0,
                    () -> "a path that could leave the backend passed: " + path);
            assertTrue(!frame.isReadable(), "every byte of the frame was a field");
        } catch (ProtocolException e) {
            // refused: the connection closes
        }
    }

    /**
     * The service alone, handed requests no decoder would pass (paths with {@code ..}, absolute,
     * through symlinks): the backend's own resolution keeps every answer inside it.
     */
    @FuzzTest(maxDuration = "15s")
    void theServiceAnswersEveryRequestFromInsideTheBackend(FuzzedDataProvider data) throws IOException {
        Fixture f = fixture();
        String path = data.pickValue(new String[] {"../outside-secret", "/etc/passwd", "out-lnk", "out-lnk/outside-secret",
            "in-lnk", "in-lnk/x", "data", "sub", "", ".."}) + data.consumeString(8);
        long size = data.consumeLong(1, 1 << 20);
        PeerRequest request = switch (data.consumeInt(0, 4)) {
            case 0 -> new PeerRequest.Get(1, io.peerfs.fetch.ChunkRef.of(new io.peerfs.fetch.ChunkRef.Version(path,
                    size, data.consumeLong()), path, 0, CHUNK));
            case 1 -> new PeerRequest.Held(1, io.peerfs.chunk.ChunkKey.fromBytes(java.util.Arrays.copyOf(
                    data.consumeBytes(16), 16)));
            case 2 -> new PeerRequest.Free(1, data.consumeLong(), io.peerfs.chunk.ChunkKey.forBackendFile(path, size,
                    0, 0));
            default -> new PeerRequest.MetaGet(1, (byte) data.consumeInt(1, 5), path);
        };
        Recorded answer = new Recorded();
        f.service().answer(request, "fuzzer", answer);
        assertEquals(1, answer.calls, "exactly one answer: " + answer.calls);
        assertTrue(!answer.text.contains(OUTSIDE_BYTES) && !answer.text.contains("outside-secret")
                || answer.text.startsWith("error"), () -> "an answer from outside the backend: " + answer.text);
    }

    @org.junit.jupiter.api.Test
    void theServiceGivesNothingFromOutsideForRequestsNoDecoderPasses() throws IOException {
        Fixture f = fixture();
        long mtime = Files.getLastModifiedTime(f.outsideFile()).to(java.util.concurrent.TimeUnit.NANOSECONDS);
        for (String path : new String[] {"../outside-secret", "out-lnk/outside-secret", "/" + f.outsideFile()}) {
            var ref = io.peerfs.fetch.ChunkRef.of(new io.peerfs.fetch.ChunkRef.Version(path, OUTSIDE_BYTES.length(),
                    mtime), path, 0, CHUNK);
            for (PeerRequest r : List.of(new PeerRequest.Get(1, ref), new PeerRequest.MetaGet(2, MetaCodec.STAT, path),
                    new PeerRequest.MetaGet(3, MetaCodec.LIST, path.replace("/outside-secret", "")))) {
                Recorded answer = new Recorded();
                f.service().answer(r, "test", answer);
                assertEquals(1, answer.calls);
                assertTrue(answer.text.startsWith("error") || answer.text.startsWith("meta 1")
                        || answer.text.startsWith("meta 2"), r + " answered " + answer.text);
            }
        }
    }

    /** A reply that keeps what it was given, as text. */
    private static final class Recorded implements PeerService.Reply {
        int calls;
        String text = "";

        @Override
        public void chunk(io.peerfs.chunk.ChunkStore.Exported chunk) throws IOException {
            calls++;
            ByteBuffer b = ByteBuffer.allocate(chunk.length());
            try (var file = chunk.file().open()) {
                file.read(b, 0);
            }
            text = "chunk " + new String(b.array(), java.nio.charset.StandardCharsets.ISO_8859_1);
        }

        @Override
        public void chunk(ByteBuffer bytes, int[] crcs, Runnable gone) {
            calls++;
            byte[] b = new byte[bytes.remaining()];
            bytes.get(b);
            gone.run();
            text = "chunk " + new String(b, java.nio.charset.StandardCharsets.ISO_8859_1);
        }

        @Override
        public void meta(byte kind, byte status, Object value) {
            calls++;
            text = "meta " + status + " " + value;
        }

        @Override
        public void ok() {
            calls++;
            text = "ok";
        }

        @Override
        public void error(String message) {
            calls++;
            text = "error " + message;
        }
    }

    @org.junit.jupiter.api.Test
    void aPeerFreesOnlyAScratchChunkStoredForTheInodeItNames() throws IOException {
        Fixture f = fixture();
        io.peerfs.chunk.ChunkKey key = io.peerfs.chunk.ChunkKey.forScratchFile(4242, 1, 0, "writer");
        f.store().putScratch(key, ByteBuffer.allocateDirect(1000), 4242);
        io.peerfs.chunk.ChunkKey cached = io.peerfs.chunk.ChunkKey.forBackendFile("data", 3 * CHUNK + 5, 1, 0);
        f.store().put(cached, ByteBuffer.allocateDirect(100), false);
        EmbeddedChannel ch = new EmbeddedChannel(f.server().handlers());
        try {
            Peer peer = authenticate(ch, f.secret());
            assertEquals(Frames.ERROR, free(peer, 1, 999, key), "a made-up inode frees nothing");
            assertEquals(Frames.ERROR, free(peer, 2, 0, key));
            assertEquals(Frames.ERROR, free(peer, 3, 4242, cached), "a cached backend chunk is no peer's to free");
            assertTrue(f.store().contains(key) && f.store().contains(cached));
            assertEquals(Frames.OK, free(peer, 4, 4242, key), "its inode, which the namespace no longer has");
            assertTrue(!f.store().contains(key));
            ch.checkException();
        } finally {
            ch.finishAndReleaseAll();
        }
    }

    /** Sends FREE and answers the type of the answer frame. */
    private static byte free(Peer peer, long id, long ino, io.peerfs.chunk.ChunkKey key) {
        peer.send(Frames.start(peer.ch.alloc(), Frames.FREE, 8 + 8 + 16).writeLong(id).writeLong(ino)
                .writeBytes(key.toBytes()));
        peer.ch.runPendingTasks();
        ByteBuf answer = peer.answer();
        assertNotNull(answer);
        try {
            assertEquals(id, answer.getLong(6));
            return answer.getByte(5);
        } finally {
            answer.release();
        }
    }

    @org.junit.jupiter.api.Test
    void aListingLargerThanOneFrameIsSentInPartsAndTheConnectionStays() throws IOException {
        Fixture f = fixture();
        EmbeddedChannel ch = new EmbeddedChannel(f.server().handlers());
        try {
            Peer peer = authenticate(ch, f.secret());
            for (String path : new String[] {"big", "sub"}) {
                metaGet(peer, 7, io.peerfs.peer.MetaCodec.LIST, path);
                ch.runPendingTasks();
                ByteBuf joined = Unpooled.buffer();
                int frames = 0;
                for (byte status = io.peerfs.peer.MetaCodec.MORE; status == io.peerfs.peer.MetaCodec.MORE; frames++) {
                    ByteBuf answer = peer.answer();
                    try {
                        assertEquals(Frames.META, answer.getByte(5));
                        assertEquals(7, answer.getLong(6));
                        assertTrue(answer.readableBytes() + FrameSeal.TAG <= Frames.maxAnswer(CHUNK),
                                "each frame within what a client takes");
                        status = answer.getByte(14);
                        assertTrue(status == 0 || status == io.peerfs.peer.MetaCodec.MORE, path + ": " + status);
                        joined.writeBytes(answer, 15, answer.readableBytes() - 15);
                    } finally {
                        answer.release();
                    }
                }
                assertEquals(path.equals("big") ? 3000 : 0, io.peerfs.peer.MetaCodec.readNames(joined).size(), path);
                assertEquals(0, joined.readableBytes());
                assertTrue(path.equals("big") ? frames > 1 : frames == 1, path + " in " + frames + " frames");
            }
            assertTrue(ch.isOpen(), "a large answer does not cost the connection");
            assertNull(ch.readOutbound(), "nothing more was sent");
            ch.checkException();
        } finally {
            ch.finishAndReleaseAll();
        }
    }

    @org.junit.jupiter.api.Test
    void requestsThroughASymlinkOnTheBackendGetNothingFromOutsideIt() throws IOException {
        Fixture f = fixture();
        EmbeddedChannel ch = new EmbeddedChannel(f.server().handlers());
        try {
            Peer peer = authenticate(ch, f.secret());
            long id = 1;
            for (String path : new String[] {"out-lnk", "out-lnk/outside-secret", "in-lnk/x", "in-lnk"}) {
                for (byte kind = 1; kind <= 5; kind++) {
                    metaGet(peer, id++, kind, path);
                }
            }
            long size = OUTSIDE_BYTES.length();
            long mtime = Files.getLastModifiedTime(f.outsideFile()).to(java.util.concurrent.TimeUnit.NANOSECONDS);
            byte[] p = "out-lnk/outside-secret".getBytes(java.nio.charset.StandardCharsets.UTF_8);
            byte[] key = io.peerfs.chunk.ChunkKey.forBackendFile("out-lnk/outside-secret", size, mtime, 0).toBytes();
            peer.send(Frames.start(ch.alloc(), Frames.GET, 8 + 16 + 8 + 4 + 8 + 8 + 2 + p.length)
                    .writeLong(id++).writeBytes(key).writeLong(0).writeInt((int) size).writeLong(size).writeLong(mtime)
                    .writeShort(p.length).writeBytes(p));
            ch.runPendingTasks();
            int answers = 0;
            for (Object o; (o = ch.readOutbound()) != null; ) {
                try {
                    if (o instanceof ByteBuf b && b.readableBytes() == FrameSeal.TAG) {
                        continue; // a frame's tag
                    }
                    if (o instanceof ByteBuf b) {
                        String text = b.toString(java.nio.charset.StandardCharsets.ISO_8859_1);
                        assertTrue(!text.contains(OUTSIDE_BYTES), "bytes from outside the backend were sent");
                        assertTrue(!text.contains("outside-secret") || b.getByte(5) == Frames.ERROR
                                || b.getByte(5) == Frames.META && b.getByte(14) != 0,
                                "a listing outside the backend was sent: " + text);
                        answers++;
                    } else {
                        assertTrue(!(o instanceof FileRegion), "chunk file data was sent for a path outside");
                    }
                } finally {
                    ReferenceCountUtil.release(o);
                }
            }
            assertTrue(answers >= 20, "every request was answered (" + answers + ")");
            ch.checkException();
        } finally {
            ch.finishAndReleaseAll();
        }
    }

    /** Sends a META_GET of {@code kind} for {@code path}. */
    private static void metaGet(Peer peer, long id, byte kind, String path) {
        byte[] p = path.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        peer.send(Frames.start(peer.ch.alloc(), Frames.META_GET, 8 + 1 + 2 + p.length)
                .writeLong(id).writeByte(kind).writeShort(p.length).writeBytes(p));
    }

    /** Writes the input in a few pieces, as TCP may deliver it. */
    private static void feed(EmbeddedChannel ch, FuzzedDataProvider data) {
        int pieces = data.consumeInt(1, 4);
        for (int i = 0; i < pieces && ch.isOpen(); i++) {
            byte[] piece = i == pieces - 1 ? data.consumeRemainingAsBytes() : data.consumeBytes(data.consumeInt(0, 64));
            ch.writeInbound(Unpooled.wrappedBuffer(piece));
        }
        ch.runPendingTasks();
    }

    private static ByteBuf challenge(EmbeddedChannel ch) {
        ByteBuf c = ch.readOutbound();
        assertNotNull(c, "the server speaks first");
        assertEquals(2 + Frames.NONCE, c.getInt(0));
        assertEquals(Frames.CHALLENGE, c.getByte(5));
        return c;
    }

    private static Peer authenticate(EmbeddedChannel ch, byte[] secret) {
        ByteBuf c = challenge(ch);
        byte[] serverNonce = new byte[Frames.NONCE];
        c.getBytes(6, serverNonce);
        c.release();
        byte[] clientNonce = new byte[Frames.NONCE];
        byte[] nodeId = "fuzzer".getBytes();
        byte[] mac = Frames.mac(secret, "peerfs-v1 client", serverNonce, clientNonce, nodeId);
        ByteBuf auth = Frames.start(ch.alloc(), Frames.AUTH, Frames.NONCE + Frames.MAC + 2 + nodeId.length)
                .writeBytes(clientNonce).writeBytes(mac).writeShort(nodeId.length).writeBytes(nodeId);
        ch.writeInbound(auth);
        ByteBuf ok = ch.readOutbound();
        assertNotNull(ok, "the right secret is accepted");
        assertEquals(Frames.AUTH_OK, ok.getByte(5));
        ok.release();
        return new Peer(ch, Frames.sessionKey(secret, true, serverNonce, clientNonce, nodeId),
                Frames.sessionKey(secret, false, serverNonce, clientNonce, nodeId));
    }

    /**
     * The client's end of an authenticated connection, written from the protocol's description
     * rather than with {@link FrameSeal}: tags each frame it sends, checks each tag it reads.
     */
    static final class Peer {
        final EmbeddedChannel ch;
        private final Tagger out;
        private final Tagger in;

        Peer(EmbeddedChannel ch, byte[] outKey, byte[] inKey) {
            this.ch = ch;
            this.out = new Tagger(outKey);
            this.in = new Tagger(inKey);
        }

        /** Sends a whole frame (length field first), tagged. */
        void send(ByteBuf frame) {
            byte[] bytes = new byte[frame.readableBytes()];
            frame.readBytes(bytes);
            frame.release();
            ch.writeInbound(Unpooled.wrappedBuffer(out.tagged(bytes)));
        }

        /**
         * Sends a stream of length-prefixed frames, each tagged as it is cut out; from the first
         * length that is out of bounds or runs past the end, the rest goes as it is.
         */
        void sendTagged(byte[] stream) {
            ByteBuffer b = ByteBuffer.wrap(stream);
            while (b.remaining() >= 4 && ch.isOpen()) {
                int length = b.getInt(b.position());
                if (length < 0 || length > Frames.MAX_REQUEST - FrameSeal.TAG || length > b.remaining() - 4) {
                    break;
                }
                byte[] frame = new byte[4 + length];
                b.get(frame);
                ch.writeInbound(Unpooled.wrappedBuffer(out.tagged(frame)));
            }
            if (b.hasRemaining() && ch.isOpen()) {
                ch.writeInbound(Unpooled.wrappedBuffer(b));
            }
        }

        /**
         * The next answer frame (a CHUNK's body is left out), its tag checked and gone: length
         * field, version, type and fields, as before tagging.
         */
        ByteBuf answer() {
            ByteBuf frame = ch.readOutbound();
            assertNotNull(frame, "an answer");
            int content = frame.readableBytes() - 4;
            assertEquals(content + FrameSeal.TAG, frame.getInt(0), "the length counts the tag");
            ByteBuf tag = ch.readOutbound();
            assertNotNull(tag, "a tag after the frame");
            byte[] bytes = new byte[content];
            frame.getBytes(4, bytes);
            byte[] got = new byte[FrameSeal.TAG];
            tag.readBytes(got);
            tag.release();
            assertTrue(java.util.Arrays.equals(in.tag(bytes), got), "the server's tag checks out");
            return frame;
        }
    }

    private static void drain(EmbeddedChannel ch) {
        for (Object o; (o = ch.readOutbound()) != null; ) {
            ReferenceCountUtil.release(o);
        }
    }

    private static String describe(Object o) {
        if (o instanceof ByteBuf b && b.readableBytes() >= 6) {
            return "a frame of type " + b.getByte(5);
        }
        return o instanceof FileRegion ? "chunk file data" : String.valueOf(o);
    }

    /** Runs every task at once on the calling thread. */
    private static final class DirectExecutor extends AbstractExecutorService {
        @Override
        public void execute(Runnable command) {
            command.run();
        }

        @Override
        public void shutdown() {
        }

        @Override
        public List<Runnable> shutdownNow() {
            return List.of();
        }

        @Override
        public boolean isShutdown() {
            return false;
        }

        @Override
        public boolean isTerminated() {
            return false;
        }

        @Override
        public boolean awaitTermination(long timeout, TimeUnit unit) {
            return true;
        }
    }
}

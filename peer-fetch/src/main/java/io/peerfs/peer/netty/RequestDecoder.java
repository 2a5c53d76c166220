package io.peerfs.peer.netty;

import io.netty.buffer.ByteBuf;
import io.peerfs.chunk.ChunkKey;
import io.peerfs.fetch.ChunkRef;
import io.peerfs.peer.MetaCodec;
import io.peerfs.peer.PeerRequest;
import java.nio.charset.StandardCharsets;

/**
 * Turns a request frame of an authenticated connection into a {@link PeerRequest}, checked:
 * every field in range, every path beneath the backend, a GET's key the one its file and
 * offset give. Anything else is a {@link ProtocolException}, which closes the connection.
 */
final class RequestDecoder {
    private RequestDecoder() {
    }

    /**
     * @param frame the frame after its version and type (both read), its tag already checked
     * @param type the frame's type
     * @param maxChunk the cluster's chunk size
     */
    static PeerRequest decode(ByteBuf frame, byte type, int maxChunk) throws ProtocolException {
        try {
            PeerRequest request = switch (type) {
                case Frames.GET -> new PeerRequest.Get(frame.readLong(), chunk(frame, maxChunk));
                case Frames.EVICT -> new PeerRequest.Evict(frame.readLong(), chunk(frame, maxChunk));
                case Frames.KEEP -> new PeerRequest.Keep(frame.readLong(), chunk(frame, maxChunk));
                case Frames.LOAD -> new PeerRequest.Load(frame.readLong(), chunk(frame, maxChunk));
                case Frames.HELD -> new PeerRequest.Held(frame.readLong(), key(frame));
                case Frames.FREE -> new PeerRequest.Free(frame.readLong(), frame.readLong(), key(frame));
                case Frames.PULL -> new PeerRequest.Pull(frame.readLong(), frame.readLong(), key(frame));
                case Frames.META_GET -> metaGet(frame);
                default -> throw new ProtocolException("unexpected frame type " + type);
            };
            if (frame.isReadable()) {
                throw new ProtocolException("malformed request of type " + type + ": bytes after its last field");
            }
            return request;
        } catch (IndexOutOfBoundsException e) {
            throw new ProtocolException("truncated frame of type " + type);
        }
    }

    private static ChunkKey key(ByteBuf frame) {
        byte[] key = new byte[16];
        frame.readBytes(key);
        return ChunkKey.fromBytes(key);
    }

    /** The chunk a GET, EVICT, KEEP or LOAD names (after its request id), checked against its key. */
    private static ChunkRef chunk(ByteBuf frame, int maxChunk) throws ProtocolException {
        ChunkKey key = key(frame);
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
        if (!ref.key().equals(key) || ref.length() != length) {
            throw new ProtocolException("chunk request whose key does not match its file and offset");
        }
        return ref;
    }

    private static PeerRequest metaGet(ByteBuf frame) throws ProtocolException {
        long reqId = frame.readLong();
        byte kind = frame.readByte();
        int pathLen = frame.readUnsignedShort();
        if (pathLen != frame.readableBytes() || kind < MetaCodec.STAT || kind > MetaCodec.FORGET) {
            throw new ProtocolException("malformed metadata request");
        }
        String path = requireBackendPath(frame.readCharSequence(pathLen, StandardCharsets.UTF_8).toString());
        return new PeerRequest.MetaGet(reqId, kind, path);
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
}

package io.peerfs.peer;

import io.netty.buffer.ByteBuf;
import io.peerfs.meta.FileAttr;
import io.peerfs.meta.FileType;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Backend metadata answers on the wire: attributes, listings, link targets, xattrs. */
public final class MetaCodec {
    public static final byte STAT = 1;
    /**
     * Attributes for an open's revalidation: the owner's, checked on the store within the TTL
     * (so the store sees one check per file per TTL for the whole cluster, whatever opens it).
     */
    public static final byte STAT_FRESH = 2;
    public static final byte LIST = 3;
    public static final byte READLINK = 4;
    public static final byte XATTRS = 5;
    /**
     * Sent by a node that changed a path on the store (a result file uploaded, created,
     * renamed, removed): the owner forgets what it cached of it and its directory, so the next
     * open anywhere sees the change (close-to-open). Answered with status 0 and no value.
     */
    public static final byte FORGET = 6;
    /**
     * The status of a META answer too large to send (statuses: 0 the answer follows, 1 no
     * such file, 2 not a directory, 3 this, 4 {@link #MORE}): the asker reads the backend.
     */
    public static final byte TOO_LARGE = 3;
    /**
     * The status of a frame that carries the next bytes of an answer sent in parts; the
     * frame with status 0 carries the last bytes. The asker joins them.
     */
    public static final byte MORE = 4;

    private MetaCodec() {
    }

    /** Writes the answer {@code value} to a question of {@code kind} (what {@code PeerService} answers). */
    @SuppressWarnings("unchecked")
    public static void writeAnswer(ByteBuf b, byte kind, Object value) {
        switch (kind) {
            case STAT, STAT_FRESH -> writeAttr(b, (FileAttr) value);
            case FORGET -> { } // nothing but the status
            case LIST -> writeNames(b, (List<String>) value);
            case READLINK -> writeString(b, (String) value);
            default -> writeXattrs(b, (Map<String, byte[]>) value);
        }
    }

    public static void writeAttr(ByteBuf b, FileAttr a) {
        b.writeByte(a.type().ordinal()).writeInt(a.mode()).writeLong(a.size()).writeLong(a.mtimeNs())
                .writeLong(a.ctimeNs()).writeLong(a.atimeNs()).writeInt(a.nlink()).writeInt(a.uid()).writeInt(a.gid())
                .writeLong(a.ino());
    }

    public static FileAttr readAttr(ByteBuf b) {
        FileType[] types = FileType.values();
        int t = b.readByte();
        if (t < 0 || t >= types.length) {
            throw new IllegalArgumentException("unknown file type " + t);
        }
        return new FileAttr(types[t], b.readInt(), b.readLong(), b.readLong(), b.readLong(), b.readLong(),
                b.readInt(), b.readInt(), b.readInt(), b.readLong());
    }

    public static void writeString(ByteBuf b, String s) {
        byte[] bytes = s.getBytes(StandardCharsets.UTF_8);
        b.writeInt(bytes.length).writeBytes(bytes);
    }

    public static String readString(ByteBuf b) {
        int n = b.readInt();
        if (n < 0 || n > b.readableBytes()) {
            throw new IllegalArgumentException("bad string length " + n);
        }
        return b.readCharSequence(n, StandardCharsets.UTF_8).toString();
    }

    public static void writeNames(ByteBuf b, List<String> names) {
        b.writeInt(names.size());
        names.forEach(n -> writeString(b, n));
    }

    public static List<String> readNames(ByteBuf b) {
        int n = b.readInt();
        if (n < 0 || n > b.readableBytes() / 4) {
            throw new IllegalArgumentException("bad name count " + n);
        }
        List<String> out = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            out.add(readString(b));
        }
        return out;
    }

    public static void writeXattrs(ByteBuf b, Map<String, byte[]> x) {
        b.writeInt(x.size());
        x.forEach((k, v) -> {
            writeString(b, k);
            b.writeInt(v.length).writeBytes(v);
        });
    }

    public static Map<String, byte[]> readXattrs(ByteBuf b) {
        int n = b.readInt();
        if (n < 0 || n > b.readableBytes() / 8) {
            throw new IllegalArgumentException("bad xattr count " + n);
        }
        Map<String, byte[]> out = new LinkedHashMap<>();
        for (int i = 0; i < n; i++) {
            String k = readString(b);
            int len = b.readInt();
            if (len < 0 || len > b.readableBytes()) {
                throw new IllegalArgumentException("bad xattr length " + len);
            }
            byte[] v = new byte[len];
            b.readBytes(v);
            out.put(k, v);
        }
        return out;
    }
}

package io.peerfs.meta;

import io.peerfs.chunk.ChunkKey;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A scratch file, directory or symlink in the {@link MetaStore}: its attributes, extended
 * attributes, and for a file the chunk layout ({@code chunks.get(i)} is the key of chunk
 * {@code i}, null for a hole). Immutable; the {@code with*} methods return changed copies.
 *
 * @param generation counts chunk seals of this file, so every sealed chunk gets a new key
 * @param holders {@code holders.get(i)}: ids of the nodes that keep chunk {@code i}, the one that
 *     sealed it first, then its replicas, separated by {@code ','} (null for a hole or when not
 *     known); never longer than {@code chunks}
 */
public record Inode(long ino, FileType type, int mode, int uid, int gid, long size, long atimeNs, long mtimeNs,
                    long ctimeNs, int nlink, long generation, String target, Map<String, byte[]> xattrs,
                    List<ChunkKey> chunks, List<String> holders) {
    /** The dense form (every chunk's entry); older daemons read only this one. */
    private static final byte VERSION = 2;
    /** The sparse form (the written chunks' entries only), for layouts that are mostly holes. */
    private static final byte SPARSE = 3;

    /**
     * The layout and the holders are {@link SparseList}s: memory (and a record's size, for a
     * layout mostly holes) follows the chunks written, not the file's size.
     */
    public Inode {
        xattrs = Collections.unmodifiableMap(new LinkedHashMap<>(xattrs));
        chunks = SparseList.of(chunks);
        holders = SparseList.<String>of(holders).truncated(chunks.size()).trimmed();
    }

    /** The layout's chunks that are not holes, in order. */
    public List<ChunkKey> presentChunks() {
        return ((SparseList<ChunkKey>) chunks).presentValues();
    }

    /** An inode whose chunks' holders are not known. */
    public Inode(long ino, FileType type, int mode, int uid, int gid, long size, long atimeNs, long mtimeNs,
                 long ctimeNs, int nlink, long generation, String target, Map<String, byte[]> xattrs,
                 List<ChunkKey> chunks) {
        this(ino, type, mode, uid, gid, size, atimeNs, mtimeNs, ctimeNs, nlink, generation, target, xattrs, chunks,
                List.of());
    }

    /** The nodes that hold chunk {@code i}, the sealing node first; empty when not known. */
    public List<String> holders(long i) {
        String h = i < holders.size() ? holders.get((int) i) : null;
        return h == null ? List.of() : List.of(h.split(","));
    }

    /** The {@link #holders} entry for a chunk kept by {@code nodes}; null for none. */
    public static String holderEntry(List<String> nodes) {
        return nodes.isEmpty() ? null : String.join(",", nodes);
    }

    /** A new inode with one name and no data. */
    public static Inode fresh(long ino, FileType type, int mode, int uid, int gid, String target, long nowNs) {
        long size = target == null ? 0 : target.length();
        return new Inode(ino, type, mode & 07777, uid, gid, size, nowNs, nowNs, nowNs, type == FileType.DIRECTORY ? 2 : 1,
                0, target, Map.of(), List.of());
    }

    /**
     * Its attributes; the inode number as the mount shows it ({@code st_ino}) has
     * {@link FileAttr#SCRATCH_INO} set, apart from the backend's own numbers.
     */
    public FileAttr attr() {
        return new FileAttr(type, mode, size, mtimeNs, ctimeNs, atimeNs, nlink, uid, gid, FileAttr.SCRATCH_INO | ino);
    }

    public boolean isDirectory() {
        return type == FileType.DIRECTORY;
    }

    public Inode withNlink(int n, long nowNs) {
        return new Inode(ino, type, mode, uid, gid, size, atimeNs, mtimeNs, nowNs, n, generation,
                target, xattrs, chunks, holders);
    }

    /**
     * A directory after an entry in it was made, removed or renamed: mtime and ctime are
     * {@code nowNs}, and {@code subdirs} subdirectories more (or fewer) count as links (each
     * one's {@code ..}), never fewer than two.
     */
    public Inode withEntriesChanged(int subdirs, long nowNs) {
        return new Inode(ino, type, mode, uid, gid, size, atimeNs, nowNs, nowNs, Math.max(2, nlink + subdirs),
                generation, target, xattrs, chunks, holders);
    }

    public Inode withMode(int m, long nowNs) {
        return new Inode(ino, type, m & 07777, uid, gid, size, atimeNs, mtimeNs, nowNs, nlink, generation,
                target, xattrs, chunks, holders);
    }

    public Inode withOwner(int u, int g, long nowNs) {
        return new Inode(ino, type, mode, u, g, size, atimeNs, mtimeNs, nowNs, nlink, generation,
                target, xattrs, chunks, holders);
    }

    public Inode withTimes(long atime, long mtime, long nowNs) {
        return new Inode(ino, type, mode, uid, gid, size, atime, mtime, nowNs, nlink, generation,
                target, xattrs, chunks, holders);
    }

    public Inode withXattrs(Map<String, byte[]> x, long nowNs) {
        return new Inode(ino, type, mode, uid, gid, size, atimeNs, mtimeNs, nowNs, nlink, generation,
                target, x, chunks, holders);
    }

    /** New content: size, layout and seal counter, with mtime and ctime set to {@code mtimeNs}; holders kept. */
    public Inode withData(long newSize, List<ChunkKey> layout, long gen, long mtime) {
        return withData(newSize, layout, holders, gen, mtime);
    }

    /** New content with the nodes that hold its chunks. */
    public Inode withData(long newSize, List<ChunkKey> layout, List<String> chunkHolders, long gen, long mtime) {
        return new Inode(ino, type, mode, uid, gid, newSize, atimeNs, mtime, mtime, nlink, gen, target, xattrs, layout,
                chunkHolders);
    }

    public byte[] encode() {
        SparseList<ChunkKey> layout = SparseList.of(chunks);
        // the dense form while it is about as small, so daemons of earlier versions read it
        boolean sparse = chunks.size() > 64 + 8L * layout.present();
        ByteArrayOutputStream bytes = new ByteArrayOutputStream(64 + 21 * (sparse ? layout.present() : chunks.size()));
        try (DataOutputStream out = new DataOutputStream(bytes)) {
            out.writeByte(sparse ? SPARSE : VERSION);
            out.writeLong(ino);
            out.writeByte(type.ordinal());
            out.writeInt(mode);
            out.writeInt(uid);
            out.writeInt(gid);
            out.writeLong(size);
            out.writeLong(atimeNs);
            out.writeLong(mtimeNs);
            out.writeLong(ctimeNs);
            out.writeInt(nlink);
            out.writeLong(generation);
            out.writeBoolean(target != null);
            if (target != null) {
                out.writeUTF(target);
            }
            out.writeInt(xattrs.size());
            for (Map.Entry<String, byte[]> e : xattrs.entrySet()) {
                out.writeUTF(e.getKey());
                out.writeInt(e.getValue().length);
                out.write(e.getValue());
            }
            if (sparse) {
                writeSparse(out);
                return bytes.toByteArray();
            }
            out.writeInt(chunks.size());
            for (ChunkKey k : chunks) {
                out.writeBoolean(k != null);
                if (k != null) {
                    out.writeLong(k.hi());
                    out.writeLong(k.lo());
                }
            }
            out.writeInt(holders.size());
            for (String h : holders) {
                out.writeBoolean(h != null);
                if (h != null) {
                    out.writeUTF(h);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e); // in-memory stream
        }
        return bytes.toByteArray();
    }

    /** The sparse form's layout and holders: the length, then each present entry with its index. */
    private void writeSparse(DataOutputStream out) throws IOException {
        SparseList<ChunkKey> layout = SparseList.of(chunks);
        out.writeInt(layout.size());
        out.writeInt(layout.present());
        IOException[] failed = new IOException[1];
        layout.forEachPresent((k, i) -> {
            try {
                out.writeInt(i);
                out.writeLong(k.hi());
                out.writeLong(k.lo());
            } catch (IOException e) {
                failed[0] = e;
            }
        });
        SparseList<String> h = SparseList.of(holders);
        out.writeInt(h.present());
        h.forEachPresent((node, i) -> {
            try {
                out.writeInt(i);
                out.writeUTF(node);
            } catch (IOException e) {
                failed[0] = e;
            }
        });
        if (failed[0] != null) {
            throw failed[0];
        }
    }

    /** Reads {@link #writeSparse}'s form; the length is free, every present entry costs the record bytes. */
    private static List<List<?>> readSparse(DataInputStream in, byte[] record) throws IOException {
        int length = in.readInt();
        if (length < 0) {
            throw new IOException("inode record of a layout of " + length + " chunks");
        }
        int n = count(in, record);
        int[] at = new int[n];
        Object[] keys = new Object[n];
        for (int j = 0; j < n; j++) {
            at[j] = in.readInt();
            keys[j] = new ChunkKey(in.readLong(), in.readLong());
        }
        int nh = count(in, record);
        int[] hat = new int[nh];
        Object[] nodes = new Object[nh];
        for (int j = 0; j < nh; j++) {
            hat[j] = in.readInt();
            nodes[j] = in.readUTF();
        }
        try {
            return List.of(SparseList.of(length, at, keys), SparseList.of(length, hat, nodes));
        } catch (IllegalArgumentException e) {
            throw new IOException("inode record with a damaged layout: " + e.getMessage());
        }
    }

    /**
     * A count read from a record: each thing counted takes at least a byte of it, so a damaged
     * or hostile record (Redis is shared) costs no more memory than its own length.
     */
    private static int count(DataInputStream in, byte[] record) throws IOException {
        int n = in.readInt();
        if (n < 0 || n > record.length) {
            throw new IOException("inode record of " + record.length + " bytes counts " + n + " entries");
        }
        return n;
    }

    /** Decodes {@link #encode()}'s form. */
    public static Inode decode(byte[] b) throws IOException {
        DataInputStream in = new DataInputStream(new ByteArrayInputStream(b));
        byte version = in.readByte();
        if (version != 1 && version != VERSION && version != SPARSE) {
            throw new IOException("inode record of an unknown version " + version);
        }
        long ino = in.readLong();
        FileType type = FileType.values()[in.readByte()];
        int mode = in.readInt();
        int uid = in.readInt();
        int gid = in.readInt();
        long size = in.readLong();
        long atime = in.readLong();
        long mtime = in.readLong();
        long ctime = in.readLong();
        int nlink = in.readInt();
        long gen = in.readLong();
        String target = in.readBoolean() ? in.readUTF() : null;
        int nx = count(in, b);
        Map<String, byte[]> x = new LinkedHashMap<>();
        for (int i = 0; i < nx; i++) {
            String k = in.readUTF();
            byte[] v = new byte[count(in, b)];
            in.readFully(v);
            x.put(k, v);
        }
        if (version == SPARSE) {
            List<List<?>> layout = readSparse(in, b);
            @SuppressWarnings("unchecked")
            List<ChunkKey> chunks = (List<ChunkKey>) layout.get(0);
            @SuppressWarnings("unchecked")
            List<String> holders = (List<String>) layout.get(1);
            return new Inode(ino, type, mode, uid, gid, size, atime, mtime, ctime, nlink, gen, target, x, chunks,
                    holders);
        }
        int nc = count(in, b);
        List<ChunkKey> chunks = new ArrayList<>(nc);
        for (int i = 0; i < nc; i++) {
            chunks.add(in.readBoolean() ? new ChunkKey(in.readLong(), in.readLong()) : null);
        }
        List<String> holders = new ArrayList<>();
        if (version >= 2) {
            int nh = count(in, b);
            for (int i = 0; i < nh; i++) {
                holders.add(in.readBoolean() ? in.readUTF() : null);
            }
        }
        return new Inode(ino, type, mode, uid, gid, size, atime, mtime, ctime, nlink, gen, target, x, chunks, holders);
    }
}

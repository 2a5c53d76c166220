package io.peerfs.meta;

import java.io.IOException;
import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * A writeback journal entry.
 *
 * @param path the backend path the staged data belongs to
 * @param ready true once a writer's close or fsync committed the data: it must reach the
 *     backend even after a crash. Data never committed by a writer is dropped after a crash,
 *     so a half-written file never replaces the backend's.
 * @param writer who opened the file to write it (its upload is made as them), or null where
 *     unknown (an entry of an older version)
 */
public record StagedFile(String path, boolean ready, Writer writer) {
    /** Most supplementary groups a writer carries (the kernel's NGROUPS_MAX). */
    public static final int MAX_GROUPS = 65536;
    private static final int READY = 1;
    private static final int HAS_WRITER = 2;

    public StagedFile(String path, boolean ready) {
        this(path, ready, null);
    }

    /** A writer's user, group and supplementary groups. */
    public record Writer(int uid, int gid, int[] groups) {
        public Writer {
            if (groups.length > MAX_GROUPS) {
                throw new IllegalArgumentException(groups.length + " supplementary groups, at most " + MAX_GROUPS);
            }
            groups = groups.clone();
        }

        @Override
        public int[] groups() {
            return groups.clone();
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Writer w && w.uid == uid && w.gid == gid && Arrays.equals(w.groups, groups);
        }

        @Override
        public int hashCode() {
            return 31 * (31 * uid + gid) + Arrays.hashCode(groups);
        }

        @Override
        public String toString() {
            return "uid " + uid + " gid " + gid + " groups " + Arrays.toString(groups);
        }
    }

    public StagedFile withPath(String target) {
        return new StagedFile(target, ready, writer);
    }

    public StagedFile asReady() {
        return new StagedFile(path, true, writer);
    }

    /** Flags (ready, writer present), the writer (uid, gid, group count, groups), then the path in UTF-8. */
    public byte[] encode() {
        byte[] p = path.getBytes(StandardCharsets.UTF_8);
        int[] groups = writer == null ? new int[0] : writer.groups;
        ByteBuffer b = ByteBuffer.allocate(1 + (writer == null ? 0 : 12 + 4 * groups.length) + p.length);
        b.put((byte) ((ready ? READY : 0) | (writer == null ? 0 : HAS_WRITER)));
        if (writer != null) {
            b.putInt(writer.uid).putInt(writer.gid).putInt(groups.length);
            for (int g : groups) {
                b.putInt(g);
            }
        }
        return b.put(p).array();
    }

    /** Reads what {@link #encode} wrote (and the older entries: flags 0 or 1, then the path). */
    public static StagedFile decode(byte[] v) throws IOException {
        try {
            ByteBuffer b = ByteBuffer.wrap(v);
            int flags = b.get();
            if ((flags & ~(READY | HAS_WRITER)) != 0) {
                throw new IOException("writeback journal entry has unknown flags " + flags);
            }
            Writer writer = null;
            if ((flags & HAS_WRITER) != 0) {
                int uid = b.getInt();
                int gid = b.getInt();
                int n = b.getInt();
                if (n < 0 || n > MAX_GROUPS || n > b.remaining() / 4) {
                    throw new IOException("writeback journal entry has " + n + " groups in " + v.length + " bytes");
                }
                int[] groups = new int[n];
                for (int i = 0; i < n; i++) {
                    groups[i] = b.getInt();
                }
                writer = new Writer(uid, gid, groups);
            }
            String path = new String(v, b.position(), b.remaining(), StandardCharsets.UTF_8);
            return new StagedFile(path, (flags & READY) != 0, writer);
        } catch (BufferUnderflowException e) {
            throw new IOException("writeback journal entry is cut short (" + v.length + " bytes)");
        }
    }
}

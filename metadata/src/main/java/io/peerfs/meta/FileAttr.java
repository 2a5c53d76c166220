package io.peerfs.meta;

import java.io.DataInput;
import java.io.DataOutput;
import java.io.IOException;

/**
 * Attributes of one file as stat(2) reports them.
 *
 * @param mode permission bits only ({@code 07777}); the kind is {@link #type()}
 * @param size bytes of data; a device node's number ({@link #rdev()})
 * @param mtimeNs modification time, nanoseconds since the epoch (likewise ctime, atime)
 */
public record FileAttr(FileType type, int mode, long size, long mtimeNs, long ctimeNs, long atimeNs,
                       int nlink, int uid, int gid, long ino) {
    /**
     * Set in the inode number of every scratch or staged file, so that it never equals a
     * backend file's (file systems number inodes from the bottom; ext4's are below 2^32).
     */
    public static final long SCRATCH_INO = 1L << 63;

    public boolean isDirectory() {
        return type == FileType.DIRECTORY;
    }

    public boolean isFile() {
        return type == FileType.FILE;
    }

    /** A device node's number ({@code st_rdev}, as {@code makedev} makes it); 0 for every other kind. */
    public long rdev() {
        return type.isDevice() ? size : 0;
    }

    /** The size stat reports: 0 for a device node, whose size field holds its number. */
    public long dataSize() {
        return type.isDevice() ? 0 : size;
    }

    void writeTo(DataOutput out) throws IOException {
        out.writeByte(type.ordinal());
        out.writeInt(mode);
        out.writeLong(size);
        out.writeLong(mtimeNs);
        out.writeLong(ctimeNs);
        out.writeLong(atimeNs);
        out.writeInt(nlink);
        out.writeInt(uid);
        out.writeInt(gid);
        out.writeLong(ino);
    }

    static FileAttr readFrom(DataInput in) throws IOException {
        return new FileAttr(FileType.values()[in.readByte()], in.readInt(), in.readLong(), in.readLong(),
                in.readLong(), in.readLong(), in.readInt(), in.readInt(), in.readInt(), in.readLong());
    }
}

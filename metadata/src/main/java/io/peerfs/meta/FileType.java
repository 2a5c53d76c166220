package io.peerfs.meta;

/**
 * The kinds of file PeerFS serves. FIFOs, sockets and device nodes are stored, never read or
 * written through PeerFS: the kernel serves them on a FUSE mount as on any other. A device
 * node's number ({@code st_rdev}) is kept in its size, which stat reports as 0
 * ({@link FileAttr#rdev()}). New kinds go at the end: the ordinal is on disk and on the wire.
 */
public enum FileType {
    FILE, DIRECTORY, SYMLINK, OTHER, FIFO, SOCKET, CHAR_DEVICE, BLOCK_DEVICE;

    /** The {@code S_IFMT} bits of {@code mode(2)} values. */
    public static final int S_IFMT = 0170000;

    /** The kind that the {@code S_IFMT} bits of {@code mode} name; OTHER for none of these. */
    public static FileType ofMode(int mode) {
        return switch (mode & S_IFMT) {
            case 0100000 -> FILE;
            case 0040000 -> DIRECTORY;
            case 0120000 -> SYMLINK;
            case 0010000 -> FIFO;
            case 0140000 -> SOCKET;
            case 0020000 -> CHAR_DEVICE;
            case 0060000 -> BLOCK_DEVICE;
            default -> OTHER;
        };
    }

    /** The {@code S_IFMT} bits of this kind; a regular file's for OTHER. */
    public int modeBits() {
        return switch (this) {
            case DIRECTORY -> 0040000;
            case SYMLINK -> 0120000;
            case FIFO -> 0010000;
            case SOCKET -> 0140000;
            case CHAR_DEVICE -> 0020000;
            case BLOCK_DEVICE -> 0060000;
            default -> 0100000;
        };
    }

    /** A FIFO, socket or device node: a name and attributes with no data of its own. */
    public boolean isSpecial() {
        return this == FIFO || this == SOCKET || isDevice();
    }

    public boolean isDevice() {
        return this == CHAR_DEVICE || this == BLOCK_DEVICE;
    }
}

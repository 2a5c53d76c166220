package io.peerfs.chunk.disk;

import com.sun.nio.file.ExtendedOpenOption;
import io.peerfs.chunk.ChunkKey;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.FileStore;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.atomic.LongAdder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Chunk file reads and writes past the page cache ({@code O_DIRECT}), while the cache dir's
 * file system takes them: the first {@code EINVAL} (at an open, a read or a write; ramfs
 * gives it) turns them off for the store's life, said once in the log, and everything goes
 * through the page cache from then on. Direct transfers are whole blocks of the file system's
 * block size, from and into aligned direct buffers.
 */
final class DirectIo {
    private static final Logger log = LoggerFactory.getLogger(DirectIo.class);

    private final Path dir;
    /** The block size direct I/O must be aligned to (a statvfs, asked once); 0 when unknown. */
    private final int blockSize;
    /** False once the file system refused direct I/O. */
    private volatile boolean on = true;
    private final LongAdder bytesRead = new LongAdder();

    DirectIo(Path dir, FileStore fileStore) {
        this.dir = dir;
        this.blockSize = blockSizeOf(fileStore);
    }

    /** Bytes read past the page cache so far. */
    long bytesRead() {
        return bytesRead.sum();
    }

    /**
     * The chunk file opened for reads past the page cache, or null: pinned chunks (scratch and
     * result data, written through the page cache and read back soon) are read through it, and
     * so is everything on a file system without direct I/O. A chunk replaced between this open
     * and the other one fails its CRC check and is fetched again, never served wrong.
     */
    FileChannel openForRead(Path file, ChunkMeta meta) throws IOException {
        if (!on || blockSize == 0 || meta.pinned() || meta.length() < blockSize) {
            return null;
        }
        try {
            return FileChannel.open(file, StandardOpenOption.READ, java.nio.file.LinkOption.NOFOLLOW_LINKS,
                    ExtendedOpenOption.DIRECT);
        } catch (NoSuchFileException e) {
            return null; // evicted meanwhile; the buffered channel's reads say so
        } catch (FileSystemException e) {
            if (!refuses(e)) {
                throw e;
            }
            turnOff(e.getMessage());
            return null;
        }
    }

    /** The C library's text for EINVAL in this process's locale, as the JDK reports it. */
    private static final class Einval {
        static final String REASON = io.peerfs.Libc.reason(io.peerfs.Libc.EINVAL, "Invalid argument");
    }

    /**
     * EINVAL: the file system takes no direct I/O (at open, at read or at write); anything else
     * is a fault. The JDK gives only the C library's text for the errno, so that is compared with
     * the same library's text for EINVAL (any locale).
     */
    private static boolean refuses(IOException e) {
        String reason = e instanceof FileSystemException fse ? fse.getReason() : e.getMessage();
        return Einval.REASON.equals(reason);
    }

    private void turnOff(String why) {
        if (on) {
            on = false;
            log.info("the cache dir {} does not take direct I/O ({}); chunk files go through the page cache",
                    dir, why);
        }
    }

    /**
     * Fills {@code run} from the chunk file at {@code position}: the part that is a whole
     * number of direct-I/O blocks with direct I/O when the chunk and the buffer allow it, the
     * rest (the chunk's short last block) through the page cache.
     */
    void readRun(ChunkKey key, OpenChunk oc, ByteBuffer run, long position) throws IOException {
        int block = blockSize;
        int aligned = on && oc.direct != null && run.isDirect() && run.alignmentOffset(0, block) == 0
                && position % block == 0 ? run.remaining() / block * block : 0;
        if (aligned > 0 && !readDirect(key, oc.direct, run.slice(0, aligned), position)) {
            aligned = 0; // this file system opens files for direct I/O but does not read them so
        }
        if (aligned < run.remaining()) {
            readFully(key, oc.channel, run.slice(aligned, run.remaining() - aligned), position + aligned);
        }
    }

    /** Fills {@code into} with direct I/O; false when the file system refuses direct reads (EINVAL). */
    private boolean readDirect(ChunkKey key, FileChannel direct, ByteBuffer into, long position) throws IOException {
        int block = blockSize;
        long p = position;
        while (into.hasRemaining()) {
            int r;
            try {
                r = direct.read(into, p);
            } catch (IOException e) {
                if (!refuses(e)) {
                    throw e; // a disk fault: the caller's to handle
                }
                turnOff("reads: " + e.getMessage());
                return false;
            }
            if (r <= 0 || (r % block != 0 && into.hasRemaining())) {
                // a direct read goes on only from a block boundary: a short one is the file's end
                throw new CorruptChunkException(key, "file is shorter than its index entry");
            }
            p += r;
        }
        bytesRead.add(into.capacity());
        return true;
    }

    /** Fills {@code into} from {@code ch} at {@code position}; a file that ends first is corrupt. */
    static void readFully(ChunkKey key, FileChannel ch, ByteBuffer into, long position) throws IOException {
        long p = position;
        while (into.hasRemaining()) {
            int r = ch.read(into, p);
            if (r < 0) {
                throw new CorruptChunkException(key, "file is shorter than its index entry");
            }
            p += r;
        }
    }

    /**
     * Writes {@code data} (left unchanged) to the new file {@code tmp}: with {@code direct}, its
     * whole aligned blocks past the page cache and the rest through it.
     */
    void writeFile(Path tmp, ByteBuffer data, boolean direct) throws IOException {
        int written = direct && on ? writeBlocksDirect(tmp, data) : 0;
        // the whole chunk, or the tail after the blocks written directly
        ByteBuffer rest = data.slice(data.position() + written, data.remaining() - written);
        try (FileChannel ch = written > 0 ? FileChannel.open(tmp, StandardOpenOption.WRITE)
                : FileChannel.open(tmp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            long pos = written;
            while (rest.hasRemaining()) {
                pos += ch.write(rest, pos);
            }
        }
    }

    /**
     * Writes the whole blocks at the start of {@code data} into the new file {@code tmp} with
     * direct I/O (no copy into the page cache), leaving {@code data} unchanged.
     *
     * @return bytes written: 0 when the buffer is not block-aligned, holds less than a block,
     *     or the file system does not do direct I/O (then no file was left behind)
     */
    private int writeBlocksDirect(Path tmp, ByteBuffer data) throws IOException {
        int block = blockSize;
        int blocks = block > 0 ? data.remaining() / block * block : 0;
        if (blocks == 0 || !data.isDirect() || data.alignmentOffset(data.position(), block) != 0) {
            return 0;
        }
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE,
                ExtendedOpenOption.DIRECT)) {
            ByteBuffer whole = data.slice(data.position(), blocks);
            long pos = 0;
            while (whole.hasRemaining()) {
                pos += ch.write(whole, pos);
            }
            return blocks;
        } catch (FileSystemException e) {
            if (!refuses(e)) {
                throw e; // a disk fault (EIO, ENOSPC, EROFS): the caller's to handle
            }
            Files.deleteIfExists(tmp);
            turnOff(e.getMessage());
            return 0;
        }
    }

    /** The cache file system's block size, which direct I/O must be aligned to; 0 when unknown. */
    private static int blockSizeOf(FileStore fileStore) {
        try {
            long b = fileStore.getBlockSize();
            return b > 0 && b <= (1 << 20) && Long.bitCount(b) == 1 ? (int) b : 0;
        } catch (IOException | UnsupportedOperationException e) {
            return 0;
        }
    }
}

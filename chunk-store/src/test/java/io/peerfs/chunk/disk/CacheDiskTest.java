package io.peerfs.chunk.disk;

import io.peerfs.chunk.ByteSize;
import io.peerfs.chunk.ChunkStore;
import io.peerfs.chunk.ChunkStoreConfig;
import io.peerfs.chunk.ChunkStoreContract;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.io.TempDir;

/**
 * The store the daemon runs ({@link CacheDisk}: the disk store behind its health state
 * machine) keeps the same contract as the disk store alone while the disk is healthy. Its
 * faults (EIO, full, read-only, down and back) are DiskFaultsIT's, over a real mount.
 */
class CacheDiskTest extends ChunkStoreContract {
    @TempDir
    Path dir;

    @Override
    protected ChunkStore newStore(long capacity) throws Exception {
        return CacheDisk.open(new ChunkStoreConfig(dir, ByteSize.ofBytes(capacity), 0), Duration.ofSeconds(30));
    }
}

package io.peerfs.chunk.disk;

import io.peerfs.PeerFsException;
import io.peerfs.chunk.ChunkKey;
import java.nio.file.Path;
import java.util.Map;
import java.util.function.BiConsumer;
import org.rocksdb.Options;
import org.rocksdb.RocksDB;
import org.rocksdb.RocksDBException;
import org.rocksdb.RocksIterator;
import org.rocksdb.WriteBatch;
import org.rocksdb.WriteOptions;

/** The persistent chunk index: {@link ChunkKey} → {@link ChunkMeta} in RocksDB. */
final class ChunkIndex implements AutoCloseable {
    static {
        RocksDB.loadLibrary();
    }

    private final Path dir;
    private final Options options;
    private final RocksDB db;
    private final WriteOptions writeOptions = new WriteOptions();

    private ChunkIndex(Path dir, Options options, RocksDB db) {
        this.dir = dir;
        this.options = options;
        this.db = db;
    }

    static ChunkIndex open(Path dir) throws PeerFsException {
        Options options = new Options().setCreateIfMissing(true).setKeepLogFileNum(2)
                .setMaxManifestFileSize(8L << 20).setInfoLogLevel(org.rocksdb.InfoLogLevel.WARN_LEVEL);
        try {
            return new ChunkIndex(dir, options, RocksDB.open(options, dir.toString()));
        } catch (RocksDBException e) {
            options.close();
            throw new PeerFsException("cannot open chunk index " + dir + ": " + e.getMessage(), e);
        }
    }

    ChunkMeta get(ChunkKey key) throws PeerFsException {
        try {
            byte[] v = db.get(key.toBytes());
            return v == null ? null : ChunkMeta.decode(v);
        } catch (RocksDBException e) {
            throw failure("read", key, e);
        }
    }

    void put(ChunkKey key, ChunkMeta meta) throws PeerFsException {
        try {
            db.put(writeOptions, key.toBytes(), meta.encode());
        } catch (RocksDBException e) {
            throw failure("write", key, e);
        }
    }

    void delete(ChunkKey key) throws PeerFsException {
        try {
            db.delete(writeOptions, key.toBytes());
        } catch (RocksDBException e) {
            throw failure("delete", key, e);
        }
    }

    /** Writes many entries at once (used to persist access times). */
    void putAll(Map<ChunkKey, ChunkMeta> entries) throws PeerFsException {
        try (WriteBatch batch = new WriteBatch()) {
            for (Map.Entry<ChunkKey, ChunkMeta> e : entries.entrySet()) {
                batch.put(e.getKey().toBytes(), e.getValue().encode());
            }
            db.write(writeOptions, batch);
        } catch (RocksDBException e) {
            throw new PeerFsException("cannot write chunk index " + dir + ": " + e.getMessage(), e);
        }
    }

    /** Writes and deletes a probe entry (not a chunk key), to learn whether the index still takes writes. */
    void checkWritable() throws PeerFsException {
        byte[] probe = "probe".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        try {
            db.put(writeOptions, probe, probe);
            db.delete(writeOptions, probe);
        } catch (RocksDBException e) {
            throw new PeerFsException("chunk index " + dir + " takes no writes: " + e.getMessage(), e);
        }
    }

    /** Visits every entry; an undecodable one is passed with a null meta. */
    void forEach(BiConsumer<ChunkKey, ChunkMeta> visitor) {
        try (RocksIterator it = db.newIterator()) {
            for (it.seekToFirst(); it.isValid(); it.next()) {
                byte[] k = it.key();
                if (k.length == 16) {
                    visitor.accept(ChunkKey.fromBytes(k), ChunkMeta.decode(it.value()));
                }
            }
        }
    }

    private PeerFsException failure(String op, ChunkKey key, RocksDBException e) {
        return new PeerFsException("chunk index " + dir + ": cannot " + op + " " + key + ": " + e.getMessage(), e);
    }

    @Override
    public void close() {
        try {
            db.syncWal();
        } catch (RocksDBException ignored) {
            // closing anyway; the WAL replays what was written
        }
        db.close();
        writeOptions.close();
        options.close();
    }
}

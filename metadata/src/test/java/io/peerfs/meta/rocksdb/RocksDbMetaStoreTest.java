package io.peerfs.meta.rocksdb;

import io.peerfs.meta.MetaStore;
import io.peerfs.meta.MetaStoreContract;
import java.nio.file.Path;
import org.junit.jupiter.api.io.TempDir;

class RocksDbMetaStoreTest extends MetaStoreContract {
    @TempDir
    Path dir;

    @Override
    protected MetaStore open() throws Exception {
        return RocksDbMetaStore.open(dir);
    }

    @Override
    protected MetaStore reopen(MetaStore old) throws Exception {
        old.close();
        return RocksDbMetaStore.open(dir);
    }
}

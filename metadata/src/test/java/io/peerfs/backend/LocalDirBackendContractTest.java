package io.peerfs.backend;

import java.nio.file.Path;

/** {@link BackendContract} over the backend itself, paths resolved with openat2. */
class LocalDirBackendContractTest extends BackendContract {
    @Override
    Backend open(Path root) throws Exception {
        return LocalDirBackend.open(root);
    }
}

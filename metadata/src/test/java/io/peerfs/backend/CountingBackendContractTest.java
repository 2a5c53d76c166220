package io.peerfs.backend;

import java.nio.file.Path;

/** {@link BackendContract} over the counters the status shows, around the backend. */
class CountingBackendContractTest extends BackendContract {
    @Override
    Backend open(Path root) throws Exception {
        return new CountingBackend(LocalDirBackend.open(root));
    }
}

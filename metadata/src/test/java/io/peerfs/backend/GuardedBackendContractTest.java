package io.peerfs.backend;

import java.nio.file.Path;

/** {@link BackendContract} over what the daemon runs: every call on the backend threads with a timeout. */
class GuardedBackendContractTest extends BackendContract {
    @Override
    Backend open(Path root) throws Exception {
        return new GuardedBackend(LocalDirBackend.open(root), root, java.time.Duration.ofSeconds(10));
    }
}

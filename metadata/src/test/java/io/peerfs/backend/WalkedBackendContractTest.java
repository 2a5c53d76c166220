package io.peerfs.backend;

import java.nio.file.Path;

/** {@link BackendContract} over paths walked one O_NOFOLLOW directory at a time, as on kernels without openat2. */
class WalkedBackendContractTest extends BackendContract {
    @Override
    Backend open(Path root) throws Exception {
        return LocalDirBackend.open(root, false);
    }
}

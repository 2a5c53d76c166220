package io.peerfs.vfs;

import io.peerfs.PeerFsException;

/** A change to source data (backend files outside result paths); maps to EROFS. */
public class ReadOnlyPathException extends PeerFsException {
    public ReadOnlyPathException(String op, String path) {
        super(op + " " + path + ": source data is read-only; to write back to the backend, mount with"
                + " --result-paths GLOB or tag a directory with 'peerfs tag --result DIR'");
    }
}

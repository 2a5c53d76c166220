package io.peerfs.backend;

import io.peerfs.PeerFsException;

/**
 * The backend did not answer in time or is gone (I/O errors, a dead network file system
 * client, unmounted): the operation fails with EIO unless a cache can answer it.
 */
public class BackendUnavailableException extends PeerFsException {
    public BackendUnavailableException(String op, String path, String why, Throwable cause) {
        super("backend unavailable: " + op + " " + (path.isEmpty() ? "/" : path) + ": " + why, cause);
    }
}

package io.peerfs;

import java.io.IOException;

/**
 * Root of the typed exceptions that PeerFS modules throw. Each subtype carries the
 * identifier it is about (a path, a chunk key, a peer) so a log line can name it.
 */
public class PeerFsException extends IOException {
    public PeerFsException(String message) {
        super(message);
    }

    public PeerFsException(String message, Throwable cause) {
        super(message, cause);
    }
}

package io.peerfs.peer.netty;

import io.peerfs.PeerFsException;

/** A peer sent something the protocol does not allow; its connection is closed. */
final class ProtocolException extends PeerFsException {
    ProtocolException(String message) {
        super(message);
    }
}

package io.peerfs.peer.netty;

import java.nio.ByteBuffer;
import java.security.GeneralSecurityException;
import java.util.Arrays;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * The tags of one direction of a connection, computed from the protocol's description
 * ({@link Frames}) rather than with {@link FrameSeal}: HMAC-SHA256 under the direction's
 * session key of the frame's sequence number and its bytes after the length field, the
 * first 16 bytes of it.
 */
final class Tagger {
    private final Mac mac;
    private long seq;

    Tagger(byte[] key) {
        try {
            mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(key, "HmacSHA256"));
        } catch (GeneralSecurityException e) {
            throw new AssertionError(e);
        }
    }

    /** The tag of the next frame, whose bytes after the length field are {@code content}. */
    byte[] tag(byte[] content) {
        mac.update(ByteBuffer.allocate(8).putLong(seq++).array());
        return Arrays.copyOf(mac.doFinal(content), FrameSeal.TAG);
    }

    /** {@code frame} (length field first) as sent: its length counting the tag, the tag at its end. */
    byte[] tagged(byte[] frame) {
        byte[] content = Arrays.copyOfRange(frame, 4, frame.length);
        return ByteBuffer.allocate(frame.length + FrameSeal.TAG).putInt(content.length + FrameSeal.TAG).put(content)
                .put(tag(content)).array();
    }
}

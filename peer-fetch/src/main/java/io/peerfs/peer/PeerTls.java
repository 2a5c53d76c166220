package io.peerfs.peer;

import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.peerfs.PeerFsException;
import javax.net.ssl.SSLException;

/** TLS contexts for the peer protocol: mutual, both sides present a certificate signed by the cluster CA. */
final class PeerTls {
    private PeerTls() {
    }

    static SslContext server(PeerConfig.Tls tls) throws PeerFsException {
        if (tls == null) {
            return null;
        }
        try {
            return SslContextBuilder.forServer(tls.cert().toFile(), tls.key().toFile())
                    .trustManager(tls.ca().toFile()).clientAuth(ClientAuth.REQUIRE).build();
        } catch (SSLException | IllegalArgumentException e) {
            throw new PeerFsException("cannot use the TLS certificate " + tls.cert() + " and key " + tls.key()
                    + " (PEM, key in PKCS#8): " + e.getMessage(), e);
        }
    }

    static SslContext client(PeerConfig.Tls tls) throws PeerFsException {
        if (tls == null) {
            return null;
        }
        try {
            return SslContextBuilder.forClient().keyManager(tls.cert().toFile(), tls.key().toFile())
                    .trustManager(tls.ca().toFile()).build();
        } catch (SSLException | IllegalArgumentException e) {
            throw new PeerFsException("cannot use the TLS certificate " + tls.cert() + " and key " + tls.key()
                    + " (PEM, key in PKCS#8): " + e.getMessage(), e);
        }
    }
}

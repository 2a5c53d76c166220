package io.peerfs.peer;

import java.time.Duration;
import java.util.List;
import java.util.Objects;

/**
 * How a node joins the cluster.
 *
 * @param listen {@code host:port} the peer server binds and other nodes reach it at (port 0:
 *     any free port, announced through the MetaStore); null for a node that only fetches
 * @param peers static members, {@code host:port} each (may include this node)
 * @param nodeId this node's name in member lists and logs
 * @param secret the cluster secret every connection proves it knows
 * @param timeout how long a peer may take to answer before the next candidate is asked
 * @param tls certificates for TLS between peers; null for plain TCP (the HMAC handshake still applies)
 * @param keepPeerChunks whether chunks fetched from peers are also kept in this node's cache
 * @param scratchReplicas how many nodes keep each scratch chunk this node seals (1: only this one)
 */
public record PeerConfig(String listen, List<String> peers, String nodeId, byte[] secret, Duration timeout,
                         Tls tls, boolean keepPeerChunks, int scratchReplicas) {
    public static final int MAX_SCRATCH_REPLICAS = 8;

    /**
     * PEM files: this node's certificate chain, its PKCS#8 private key, and the CA that signed
     * every member's certificate (both sides verify each other).
     */
    public record Tls(java.nio.file.Path cert, java.nio.file.Path key, java.nio.file.Path ca) {
        public Tls {
            for (java.nio.file.Path p : List.of(cert, key, ca)) {
                if (!java.nio.file.Files.isReadable(p)) {
                    throw new IllegalArgumentException("TLS file " + p + " does not exist or is not readable");
                }
            }
        }
    }

    public PeerConfig {
        peers = List.copyOf(peers);
        Objects.requireNonNull(nodeId, "nodeId");
        if (nodeId.isEmpty() || !nodeId.matches("[A-Za-z0-9._:\\[\\]-]{1,255}")) {
            throw new IllegalArgumentException("--node-id may hold letters, digits and . _ : - [ ] (at most 255),"
                    + " got '" + nodeId + "'");
        }
        if (scratchReplicas < 1 || scratchReplicas > MAX_SCRATCH_REPLICAS) {
            throw new IllegalArgumentException("--scratch-replicas must be from 1 to " + MAX_SCRATCH_REPLICAS
                    + ", got " + scratchReplicas);
        }
        if (secret == null || secret.length < 16) {
            throw new IllegalArgumentException("the cluster secret must be at least 16 bytes (--secret-file)");
        }
        if (listen != null) {
            requireAddress("--listen", listen);
        }
        for (String p : peers) {
            requireAddress("--peers", p);
        }
        if (timeout.isNegative() || timeout.isZero()) {
            throw new IllegalArgumentException("--peer-timeout must be positive, got " + timeout);
        }
    }

    /** Checks {@code host:port}; throws with a message for the user otherwise. */
    public static void requireAddress(String option, String address) {
        int colon = address.lastIndexOf(':');
        boolean ok = colon > 0;
        if (ok) {
            try {
                int port = Integer.parseInt(address.substring(colon + 1));
                ok = port >= 0 && port <= 65535;
            } catch (NumberFormatException e) {
                ok = false;
            }
        }
        if (!ok) {
            throw new IllegalArgumentException(option + " wants host:port, got '" + address + "'");
        }
    }
}

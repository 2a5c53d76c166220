package io.peerfs.meta;

/**
 * A daemon of the cluster as registered in the {@link MetaStore}.
 *
 * @param nodeId unique, stable name of the node ({@code --node-id})
 * @param address where its peer server listens, {@code host:port}
 * @param heartbeatMs wall-clock time of its last heartbeat
 */
public record Member(String nodeId, String address, long heartbeatMs) {
}

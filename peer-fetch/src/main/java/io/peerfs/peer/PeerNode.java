package io.peerfs.peer;

import io.peerfs.chunk.ChunkStore;
import io.peerfs.fetch.ChunkFetcher;
import io.peerfs.meta.BackendMetaCache;
import io.peerfs.meta.MetaStore;
import io.peerfs.peer.netty.NettyPeerClient;
import io.peerfs.peer.netty.NettyPeerServer;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** This node's part in the cluster: its peer server, its client, membership and counters. */
public final class PeerNode implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(PeerNode.class);
    private static final Duration HEARTBEAT = Duration.ofSeconds(2);

    private final PeerConfig config;
    private final PeerStats stats;
    private final NettyPeerServer server;
    private final NettyPeerClient client;
    private final Membership members;

    private final PeerNetwork network;

    private PeerNode(PeerConfig config, PeerStats stats, NettyPeerServer server, NettyPeerClient client,
                     Membership members, PeerNetwork network) {
        this.network = network;
        this.config = config;
        this.stats = stats;
        this.server = server;
        this.client = client;
        this.members = members;
    }

    /** Starts serving (if {@code listen} is set), joins the cluster and puts the peers in front of the backend. */
    /**
     * @param metaCache this node's backend metadata cache, which answers peers about directories it owns
     * @param routing the backend under {@code metaCache}, told to ask directories' owners from now on
     */
    public static PeerNode start(PeerConfig config, ChunkStore store, ChunkFetcher fetcher, MetaStore meta,
                                 BackendMetaCache metaCache, MetaRouting routing, int chunkSize) throws IOException {
        PeerStats stats = new PeerStats();
        NettyPeerServer server = null;
        PeerService service = new PeerService(store, fetcher, metaCache, meta, chunkSize, stats);
        String self = null;
        if (config.listen() != null) {
            server = new NettyPeerServer(config.secret(), PeerTls.server(config.tls()), service, chunkSize, stats);
            int colon = config.listen().lastIndexOf(':');
            String host = config.listen().substring(0, colon);
            try {
                InetSocketAddress bound = server.start(new InetSocketAddress(host,
                        Integer.parseInt(config.listen().substring(colon + 1))));
                self = host + ":" + bound.getPort();
            } catch (IOException | RuntimeException e) {
                server.close();
                throw e;
            }
        }
        NettyPeerClient client = new NettyPeerClient(config.secret(), PeerTls.client(config.tls()), config.nodeId(),
                chunkSize,
                (int) Math.min(config.timeout().toMillis(), 10_000));
        Membership members = new Membership(self, config.nodeId(), config.peers(), meta, HEARTBEAT,
                System::currentTimeMillis);
        members.start();
        PeerNetwork network = new PeerNetwork(members, client, stats, config.timeout());
        service.keepReplicasFrom(network);
        service.drainingWhen(members::draining);
        fetcher.usePeers(network, config.keepPeerChunks());
        routing.route(network);
        log.info("peer node {} serving at {}; members {}", config.nodeId(), self == null ? "(fetch only)" : self,
                members.all());
        return new PeerNode(config, stats, server, client, members, network);
    }

    /** Starts ({@code true}) or ends draining this node: it owns nothing meanwhile ({@code peerfs drain}). */
    public void drain(boolean on) {
        members.drainSelf(on);
    }

    /** The holders of scratch chunks, reached through the peer network. */
    public io.peerfs.fetch.ScratchPeers scratchPeers() {
        return network;
    }

    /** Members and counters, for status and {@code peerfs peers}. */
    public Map<String, Object> status() {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("nodeId", config.nodeId());
        out.put("address", members.self());
        out.put("draining", members.draining());
        out.put("bytesServed", stats.bytesServed.sum());
        out.put("chunksServed", stats.chunksServed.sum());
        out.put("bytesFetched", stats.bytesFetched.sum());
        out.put("fallbacks", stats.fallbacks.sum());
        out.put("metaServed", stats.metaServed.sum());
        out.put("metaFetched", stats.metaFetched.sum());
        out.put("corruptTransfers", stats.corruptTransfers.sum());
        out.put("authFailures", stats.authFailures.sum());
        out.put("badFrames", stats.badFrames.sum());
        out.put("scratchChunksReplicated", stats.replicated.sum());
        out.put("scratchChunksUnderReplicated", stats.underReplicated.sum());
        out.put("scratchReplicasKept", stats.replicasKept.sum());
        List<Map<String, Object>> list = new ArrayList<>();
        Map<String, PeerStats.Peer> per = stats.peers();
        for (String m : members.all()) {
            Map<String, Object> e = new LinkedHashMap<>();
            e.put("address", m);
            e.put("self", m.equals(members.self()));
            e.put("live", members.isLive(m));
            PeerStats.Peer p = per.get(m);
            e.put("bytesFetched", p == null ? 0 : p.bytesFetched.sum());
            e.put("failures", p == null ? 0 : p.failures.sum());
            list.add(e);
        }
        out.put("members", list);
        out.put("membersLive", list.stream().filter(e -> Boolean.TRUE.equals(e.get("live"))).count());
        out.put("membersTotal", list.size());
        Map<String, Object> servedTo = new LinkedHashMap<>();
        stats.clients().forEach((node, c) -> servedTo.put(node,
                Map.of("bytesServed", c.bytesServed.sum(), "chunksServed", c.chunksServed.sum())));
        out.put("servedTo", servedTo);
        return out;
    }

    @Override
    public void close() {
        network.close();
        members.close();
        if (server != null) {
            server.close();
        }
        client.close();
    }
}

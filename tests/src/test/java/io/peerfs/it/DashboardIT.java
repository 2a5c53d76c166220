package io.peerfs.it;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The shipped Grafana dashboard and Prometheus alert rules against real daemons: two peers
 * read a file (one from the backend, the other from its peer), write a scratch and a result
 * file, and are scraped. Every metric a panel or rule names must be in those scrapes, and the
 * ones the load moved must show it.
 */
class DashboardIT {
    static final Path DASHBOARD = Path.of("../packaging/grafana/peerfs-dashboard.json");
    static final Path ALERTS = Path.of("../packaging/prometheus/peerfs-alerts.yaml");
    static final Pattern METRIC = Pattern.compile("\\bpeerfs_[a-z_]+");
    @TempDir
    static Path tmp;
    static final List<PeerFsMount> nodes = new ArrayList<>();

    @BeforeAll
    static void startTwoPeers() throws Exception {
        PeerFsMount.assumeFuse();
        Path backend = Files.createDirectories(tmp.resolve("backend"));
        Files.createDirectories(backend.resolve("out"));
        Path secret = TestFiles.secret(tmp.resolve("secret"), "dashboard test secret, long enough\n");
        List<String> addresses = List.of("127.0.0.1:" + Ports.free(), "127.0.0.1:" + Ports.free());
        for (int i = 0; i < 2; i++) {
            nodes.add(new PeerFsMount(backend, tmp.resolve("mnt" + i), tmp.resolve("cache" + i), "--listen",
                    addresses.get(i), "--peers", String.join(",", addresses), "--secret-file", secret.toString(),
                    "--metrics", "127.0.0.1:0", "--result-paths", "out/**").mount());
        }
        for (PeerFsMount n : nodes) {
            for (String a : addresses) {
                PeerIT.awaitLive(n, a);
            }
        }
        byte[] data = TestFiles.random(12 << 20, 3); // several chunks: each node owns some
        TestFiles.write(backend.resolve("data.bin"), data);
        for (PeerFsMount n : nodes) {
            assertArrayEquals(data, Files.readAllBytes(n.mountpoint.resolve("data.bin")));
        }
        Files.write(nodes.get(0).mountpoint.resolve("scratch.bin"), data);
        Files.write(nodes.get(0).mountpoint.resolve("out/result.bin"), data);
    }

    @AfterAll
    static void stop() throws Exception {
        for (PeerFsMount n : nodes) {
            n.close();
        }
    }

    /** Both nodes' /metrics. */
    private static List<String> scrapes() throws Exception {
        List<String> out = new ArrayList<>();
        for (PeerFsMount n : nodes) {
            String url = n.status().path("daemon").path("metrics").asText();
            int port = Integer.parseInt(url.replaceAll(".*:(\\d+)/metrics$", "$1"));
            out.add(PackagingIT.scrape(port));
        }
        return out;
    }

    /** Sample names in a scrape (the part of each sample line before its labels or value). */
    private static Set<String> sampleNames(String scrape) {
        Set<String> names = new TreeSet<>();
        for (String line : scrape.lines().toList()) {
            if (!line.startsWith("#") && !line.isBlank()) {
                names.add(line.split("[{ ]", 2)[0]);
            }
        }
        return names;
    }

    private static Set<String> namesIn(String text) {
        Set<String> names = new TreeSet<>();
        Matcher m = METRIC.matcher(text);
        while (m.find()) {
            names.add(m.group());
        }
        return names;
    }

    /** The sum over both nodes of the sample {@code sample} (name or name{labels}). */
    private static double total(List<String> scrapes, String sample) {
        double sum = 0;
        for (String s : scrapes) {
            sum += PackagingIT.metric(s, sample);
        }
        return sum;
    }

    @Test
    void everyMetricThePanelsAndRulesNameIsExportedAndTheLoadShows() throws Exception {
        List<String> scrapes = scrapes();
        Set<String> exported = new TreeSet<>();
        scrapes.forEach(s -> exported.addAll(sampleNames(s)));

        JsonNode dashboard = new ObjectMapper().readTree(DASHBOARD.toFile());
        Set<String> named = new TreeSet<>();
        assertTrue(dashboard.path("panels").size() >= 10, "panels");
        for (JsonNode panel : dashboard.path("panels")) {
            assertFalse(panel.path("title").asText().isBlank());
            assertEquals("${datasource}", panel.path("datasource").path("uid").asText(), panel.path("title").asText());
            assertTrue(panel.path("targets").size() > 0, panel.path("title").asText());
            for (JsonNode t : panel.path("targets")) {
                Set<String> inExpr = namesIn(t.path("expr").asText());
                assertFalse(inExpr.isEmpty(), "a query of " + panel.path("title").asText() + " names a metric");
                named.addAll(inExpr);
            }
        }
        named.addAll(namesIn(dashboard.path("templating").toString()));

        JsonNode rules = new ObjectMapper(new YAMLFactory()).readTree(ALERTS.toFile());
        int alerts = 0;
        for (JsonNode group : rules.path("groups")) {
            for (JsonNode rule : group.path("rules")) {
                assertFalse(rule.path("alert").asText().isBlank());
                assertFalse(rule.path("labels").path("severity").asText().isBlank(), rule.toString());
                assertFalse(rule.path("annotations").path("summary").asText().isBlank(), rule.toString());
                Set<String> inExpr = namesIn(rule.path("expr").asText());
                assertFalse(inExpr.isEmpty(), rule.toString());
                named.addAll(inExpr);
                alerts++;
            }
        }
        assertTrue(alerts >= 4, "disk, uploads, store timeouts and peers are alerted on: " + alerts);

        Set<String> missing = new TreeSet<>(named);
        missing.removeAll(exported);
        assertEquals(Set.of(), missing, "named by the dashboard or the rules but not exported");

        assertTrue(total(scrapes, "peerfs_backend_read_bytes_total") >= 12 << 20, "the store was read");
        assertTrue(total(scrapes, "peerfs_peer_received_bytes_total") > 0, "a node read from its peer");
        assertTrue(total(scrapes, "peerfs_peer_sent_bytes_total") > 0, "a node sent to its peer");
        assertTrue(total(scrapes, "peerfs_backend_uploads_total") >= 1, "the result file was uploaded");
        assertTrue(total(scrapes, "peerfs_cache_pinned_bytes") >= 12 << 20, "the scratch file is pinned");
        assertEquals(2, total(scrapes, "peerfs_cache_disk_healthy"), "both cache disks are healthy");
        assertEquals(4, total(scrapes, "peerfs_peer_members_live"), "each node counts both members live");
        assertTrue(total(scrapes, "peerfs_direct_memory_bytes") > 0, "off-heap buffers are reported");
        assertTrue(total(scrapes, "peerfs_fuse_op_seconds_count{op=\"read\",result=\"ok\"}") > 0, "reads timed");
    }
}

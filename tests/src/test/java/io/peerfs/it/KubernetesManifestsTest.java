package io.peerfs.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MappingIterator;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The container recipe and Kubernetes manifests under packaging/container: every document
 * parses, and the fields a FUSE DaemonSet lives or dies by are right (propagation,
 * privileges, probes, volumes, the Secret and ConfigMap it names). No cluster runs here;
 * PackagingIT runs the entry point and the probe and preStop commands on the host.
 */
class KubernetesManifestsTest {
    static final Path DIR = PeerFsMount.ROOT.resolve("packaging/container");
    static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());
    static final Map<String, JsonNode> byKind = new HashMap<>();
    static final List<JsonNode> pods = new ArrayList<>();

    @BeforeAll
    static void parse() throws IOException {
        try (Stream<Path> files = Files.list(DIR.resolve("k8s"))) {
            for (Path f : files.filter(p -> p.toString().endsWith(".yaml")).sorted().toList()) {
                try (MappingIterator<JsonNode> docs = YAML.readerFor(JsonNode.class).readValues(f.toFile())) {
                    while (docs.hasNext()) {
                        JsonNode d = docs.next();
                        for (String field : List.of("apiVersion", "kind")) {
                            assertTrue(d.hasNonNull(field), f + ": a document without " + field);
                        }
                        assertFalse(d.path("metadata").path("name").asText().isEmpty(), f + ": no metadata.name");
                        if (d.path("kind").asText().equals("Pod")) {
                            pods.add(d);
                        } else {
                            byKind.put(d.path("kind").asText(), d);
                        }
                    }
                }
            }
        }
    }

    static JsonNode container() {
        return byKind.get("DaemonSet").path("spec").path("template").path("spec").path("containers").get(0);
    }

    static JsonNode volume(JsonNode podSpec, String name) {
        for (JsonNode v : podSpec.path("volumes")) {
            if (v.path("name").asText().equals(name)) {
                return v;
            }
        }
        throw new AssertionError("no volume " + name);
    }

    static JsonNode mountAt(JsonNode c, String path) {
        for (JsonNode m : c.path("volumeMounts")) {
            if (m.path("mountPath").asText().equals(path)) {
                return m;
            }
        }
        throw new AssertionError("nothing mounted at " + path);
    }

    @Test
    void theDaemonSetMountsIntoTheHostWithBidirectionalPropagation() {
        JsonNode ds = byKind.get("DaemonSet");
        assertEquals("apps/v1", ds.path("apiVersion").asText());
        assertEquals(ds.path("spec").path("selector").path("matchLabels"),
                ds.path("spec").path("template").path("metadata").path("labels"), "the selector matches the pods");
        JsonNode spec = ds.path("spec").path("template").path("spec");
        JsonNode c = container();
        assertTrue(c.path("securityContext").path("privileged").asBoolean(), "FUSE mounts need privileges");
        assertTrue(spec.path("hostNetwork").asBoolean(), "peers reach each other at node addresses");
        String mountpoint = byKind.get("ConfigMap").path("data").path("PEERFS_MOUNTPOINT").asText();
        JsonNode m = mountAt(c, mountpoint);
        assertEquals("Bidirectional", m.path("mountPropagation").asText());
        assertEquals(mountpoint, volume(spec, m.path("name").asText()).path("hostPath").path("path").asText());
        assertEquals("CharDevice", volume(spec, mountAt(c, "/dev/fuse").path("name").asText())
                .path("hostPath").path("type").asText());
        JsonNode cache = volume(spec, mountAt(c, "/var/cache/peerfs").path("name").asText());
        assertTrue(cache.path("hostPath").path("path").asText().startsWith("/"), "the cache is on the node's disk");
    }

    @Test
    void probesAndPreStopTalkToTheMount() {
        JsonNode c = container();
        String mountpoint = byKind.get("ConfigMap").path("data").path("PEERFS_MOUNTPOINT").asText();
        assertEquals(List.of("peerfs", "status", mountpoint), strings(c.path("readinessProbe").path("exec")
                .path("command")));
        assertEquals(List.of("peerfs", "umount", "--lazy", mountpoint), strings(c.path("lifecycle").path("preStop")
                .path("exec").path("command")));
        assertTrue(byKind.get("DaemonSet").path("spec").path("template").path("spec")
                .path("terminationGracePeriodSeconds").asInt() >= 30, "time to unmount and finish uploads");
    }

    @Test
    void theSecretAndConfigMapItNamesExistWithWhatTheEntryPointNeeds() throws IOException {
        JsonNode c = container();
        JsonNode spec = byKind.get("DaemonSet").path("spec").path("template").path("spec");
        JsonNode secretVolume = volume(spec, mountAt(c, "/etc/peerfs/secret").path("name").asText());
        assertEquals(byKind.get("Secret").path("metadata").path("name").asText(),
                secretVolume.path("secret").path("secretName").asText());
        assertTrue(byKind.get("Secret").path("stringData").has("secret"), "the key the entry point reads");
        assertEquals(byKind.get("ConfigMap").path("metadata").path("name").asText(),
                c.path("envFrom").get(0).path("configMapRef").path("name").asText());
        JsonNode data = byKind.get("ConfigMap").path("data");
        assertTrue(data.path("PEERFS_META").asText().startsWith("redis://"));
        String backend = data.path("PEERFS_BACKEND").asText();
        boolean backendMounted = false;
        for (JsonNode m : c.path("volumeMounts")) {
            backendMounted |= backend.startsWith(m.path("mountPath").asText() + "/");
        }
        assertTrue(backendMounted, "the backend " + backend + " is inside a volume of the pod");
        List<String> env = new ArrayList<>();
        c.path("env").forEach(e -> env.add(e.path("name").asText()));
        data.fieldNames().forEachRemaining(env::add);
        String entry = Files.readString(DIR.resolve("peerfs-node.sh"));
        for (String needed : List.of("PEERFS_BACKEND", "POD_IP", "NODE_NAME", "PEERFS_SECRET_FILE", "PEERFS_META")) {
            assertTrue(entry.contains(needed), "the entry point reads " + needed);
            assertTrue(env.contains(needed), "the pod sets " + needed);
        }
    }

    @Test
    void examplePodsSeeTheMountThroughHostToContainer() {
        assertEquals(2, pods.size());
        String mountpoint = byKind.get("ConfigMap").path("data").path("PEERFS_MOUNTPOINT").asText();
        for (JsonNode pod : pods) {
            JsonNode spec = pod.path("spec");
            for (JsonNode c : spec.path("containers")) {
                for (JsonNode m : c.path("volumeMounts")) {
                    JsonNode v = volume(spec, m.path("name").asText());
                    if (v.path("hostPath").path("path").asText().equals(mountpoint)) {
                        assertEquals("HostToContainer", m.path("mountPropagation").asText(),
                                pod.path("metadata").path("name").asText());
                    }
                }
            }
        }
    }

    @Test
    void theImageInstallsTheDebAndRunsTheEntryPoint() throws IOException {
        String docker = Files.readString(DIR.resolve("Dockerfile"));
        assertTrue(docker.lines().anyMatch(l -> l.startsWith("FROM debian:12")), docker);
        for (String needed : List.of("openjdk-17-jre-headless", "libfuse3-3", "libfuse2", "fuse3", "dpkg -i",
                "COPY peerfs-node.sh", "ENTRYPOINT [\"/usr/local/bin/peerfs-node\"]")) {
            assertTrue(docker.contains(needed), "Dockerfile: " + needed);
        }
        assertTrue(Files.isExecutable(DIR.resolve("peerfs-node.sh")));
        assertTrue(Files.isExecutable(DIR.resolve("build.sh")));
    }

    static List<String> strings(JsonNode array) {
        List<String> out = new ArrayList<>();
        array.forEach(n -> out.add(n.asText()));
        return out;
    }
}

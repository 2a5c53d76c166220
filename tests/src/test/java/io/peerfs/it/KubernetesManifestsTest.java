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
import org.junit.jupiter.api.Test;

/**
 * The container recipe and the Kubernetes manifests under packaging/container: each Kustomize
 * overlay is rendered with {@code kubectl kustomize} (what an operator applies) and the fields
 * a FUSE DaemonSet lives or dies by are checked on the rendered objects (propagation,
 * privileges, probes, volumes, the Secrets and ConfigMap it names); the Job and the example
 * pods parse and see the mount. No cluster runs here; PackagingIT runs the entry point and
 * the probe and preStop commands on the host.
 */
class KubernetesManifestsTest {
    static final Path DIR = PeerFsMount.ROOT.resolve("packaging/container");
    static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

    /** The objects an overlay renders to, by kind (the Pods of a file in a list). */
    record Rendered(String overlay, Map<String, JsonNode> byKind, List<JsonNode> pods) {
        JsonNode daemonSet() {
            return byKind.get("DaemonSet");
        }

        JsonNode podSpec() {
            return daemonSet().path("spec").path("template").path("spec");
        }

        JsonNode container() {
            return podSpec().path("containers").get(0);
        }

        JsonNode config() {
            return byKind.get("ConfigMap").path("data");
        }
    }

    static Rendered render(String overlay) throws Exception {
        Path out = Files.createTempFile("kustomize", ".yaml");
        try {
            Process p = new ProcessBuilder("kubectl", "kustomize", DIR.resolve("k8s/overlays/" + overlay).toString())
                    .redirectOutput(out.toFile()).redirectError(ProcessBuilder.Redirect.DISCARD).start();
            assertTrue(p.waitFor(60, java.util.concurrent.TimeUnit.SECONDS), "kubectl kustomize did not finish");
            assertEquals(0, p.exitValue(), "kubectl kustomize of " + overlay + " failed");
            return parse(overlay, out);
        } catch (IOException e) {
            throw new AssertionError("kubectl (bin/install-deps installs it) could not run: " + e.getMessage(), e);
        } finally {
            Files.deleteIfExists(out);
        }
    }

    static Rendered parse(String name, Path file) throws IOException {
        Map<String, JsonNode> byKind = new HashMap<>();
        List<JsonNode> pods = new ArrayList<>();
        try (MappingIterator<JsonNode> docs = YAML.readerFor(JsonNode.class).readValues(file.toFile())) {
            while (docs.hasNext()) {
                JsonNode d = docs.next();
                if (d == null || d.isEmpty()) {
                    continue;
                }
                for (String field : List.of("apiVersion", "kind")) {
                    assertTrue(d.hasNonNull(field), name + ": a document without " + field);
                }
                assertFalse(d.path("metadata").path("name").asText().isEmpty(), name + ": no metadata.name");
                if (d.path("kind").asText().equals("Pod")) {
                    pods.add(d);
                } else {
                    assertFalse(byKind.containsKey(d.path("kind").asText()), name + ": two of kind " + d.path("kind"));
                    byKind.put(d.path("kind").asText(), d);
                }
            }
        }
        return new Rendered(name, byKind, pods);
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

    static JsonNode env(JsonNode c, String name) {
        for (JsonNode e : c.path("env")) {
            if (e.path("name").asText().equals(name)) {
                return e;
            }
        }
        return null;
    }

    @Test
    void everyOverlayMountsIntoTheHostWithBidirectionalPropagationAndTalksToTheMount() throws Exception {
        for (String overlay : List.of("single-node", "cluster")) {
            Rendered r = render(overlay);
            JsonNode ds = r.daemonSet();
            assertEquals("apps/v1", ds.path("apiVersion").asText());
            assertEquals("peerfs-system", ds.path("metadata").path("namespace").asText(), overlay);
            assertTrue(r.byKind().containsKey("Namespace"), overlay);
            assertEquals(ds.path("spec").path("selector").path("matchLabels"),
                    ds.path("spec").path("template").path("metadata").path("labels"), "the selector matches the pods");
            JsonNode spec = r.podSpec();
            JsonNode c = r.container();
            assertTrue(c.path("securityContext").path("privileged").asBoolean(), "FUSE mounts need privileges");
            assertTrue(spec.path("hostNetwork").asBoolean(), "peers reach each other at node addresses");
            String mountpoint = r.config().path("PEERFS_MOUNTPOINT").asText();
            JsonNode m = mountAt(c, mountpoint);
            assertEquals("Bidirectional", m.path("mountPropagation").asText());
            assertEquals(mountpoint, volume(spec, m.path("name").asText()).path("hostPath").path("path").asText());
            assertEquals("CharDevice", volume(spec, mountAt(c, "/dev/fuse").path("name").asText())
                    .path("hostPath").path("type").asText());
            JsonNode cache = volume(spec, mountAt(c, "/var/cache/peerfs").path("name").asText());
            assertTrue(cache.path("hostPath").path("path").asText().startsWith("/"), "the cache is on the node's disk");
            assertEquals(List.of("peerfs", "status", mountpoint), strings(c.path("readinessProbe").path("exec")
                    .path("command")));
            assertEquals(List.of("peerfs", "umount", "--lazy", mountpoint), strings(c.path("lifecycle")
                    .path("preStop").path("exec").path("command")));
            assertTrue(spec.path("terminationGracePeriodSeconds").asInt() >= 30, "time to unmount and finish uploads");
            assertEquals(r.byKind().get("ConfigMap").path("metadata").path("name").asText(),
                    c.path("envFrom").get(0).path("configMapRef").path("name").asText());
            String backend = r.config().path("PEERFS_BACKEND").asText();
            boolean backendMounted = false;
            for (JsonNode vm : c.path("volumeMounts")) {
                backendMounted |= backend.startsWith(vm.path("mountPath").asText() + "/");
            }
            assertTrue(backendMounted, "the backend " + backend + " is inside a volume of the pod");
            assertFalse(r.byKind().containsKey("Secret"), overlay + ": no Secret is shipped (the operator makes them)");
        }
    }

    @Test
    void theSingleNodeOverlayIsTheEmbeddedDefault() throws Exception {
        Rendered r = render("single-node");
        assertFalse(r.config().has("PEERFS_META"));
        assertEquals(null, env(r.container(), "PEERFS_META"));
        for (JsonNode v : r.podSpec().path("volumes")) {
            assertFalse(v.has("secret"), "nothing to create first: " + v);
        }
        entryPointReads(r, List.of("PEERFS_BACKEND", "PEERFS_MOUNTPOINT", "PEERFS_CACHE_DIR", "PEERFS_METRICS"));
    }

    @Test
    void theClusterOverlayTakesRedisTheSecretAndTlsFromSecrets() throws Exception {
        Rendered r = render("cluster");
        JsonNode c = r.container();
        JsonNode meta = env(c, "PEERFS_META");
        assertEquals("url", meta.path("valueFrom").path("secretKeyRef").path("key").asText(),
                "the Redis URL (it holds a password) comes from a Secret, not the ConfigMap");
        assertFalse(r.config().has("PEERFS_META"));
        String secretFile = env(c, "PEERFS_SECRET_FILE").path("value").asText();
        Path secretDir = Path.of(secretFile).getParent();
        JsonNode secret = volume(r.podSpec(), mountAt(c, secretDir.toString()).path("name").asText()).path("secret");
        assertEquals("peerfs-secret", secret.path("secretName").asText());
        assertEquals(0400, secret.path("defaultMode").asInt(), "the daemon refuses a secret others can read");
        String tlsDir = r.config().path("PEERFS_TLS_DIR").asText();
        JsonNode tls = volume(r.podSpec(), mountAt(c, tlsDir).path("name").asText()).path("secret");
        assertEquals("peerfs-tls", tls.path("secretName").asText());
        assertEquals("1", r.config().path("PEERFS_META_REPLICAS").asText(), "a failover keeps acknowledged changes");
        entryPointReads(r, List.of("PEERFS_BACKEND", "POD_IP", "NODE_NAME", "PEERFS_SECRET_FILE", "PEERFS_META",
                "PEERFS_TLS_DIR", "PEERFS_META_REPLICAS", "PEERFS_SCRATCH_REPLICAS"));
        String entry = Files.readString(DIR.resolve("peerfs-node.sh"));
        for (String file : List.of("tls.crt", "tls.key", "ca.crt")) {
            assertTrue(entry.contains("$PEERFS_TLS_DIR/" + file), "the entry point passes " + file);
        }
    }

    /** Each of {@code needed} is set in the pod (env or ConfigMap) and read by the entry point. */
    private static void entryPointReads(Rendered r, List<String> needed) throws IOException {
        List<String> env = new ArrayList<>();
        r.container().path("env").forEach(e -> env.add(e.path("name").asText()));
        r.config().fieldNames().forEachRemaining(env::add);
        String entry = Files.readString(DIR.resolve("peerfs-node.sh"));
        for (String name : needed) {
            assertTrue(entry.contains(name), "the entry point reads " + name);
            assertTrue(env.contains(name), r.overlay() + ": the pod sets " + name);
        }
    }

    @Test
    void theWarmupJobAndExamplePodsSeeTheMountThroughHostToContainer() throws Exception {
        String mountpoint = render("single-node").config().path("PEERFS_MOUNTPOINT").asText();
        Rendered examples = parse("examples", DIR.resolve("k8s/examples/example-pipeline.yaml"));
        assertEquals(2, examples.pods().size());
        List<JsonNode> specs = new ArrayList<>();
        examples.pods().forEach(p -> specs.add(p.path("spec")));
        JsonNode job = parse("jobs", DIR.resolve("k8s/jobs/warmup.yaml")).byKind().get("Job");
        assertEquals("batch/v1", job.path("apiVersion").asText());
        JsonNode jobSpec = job.path("spec").path("template").path("spec");
        specs.add(jobSpec);
        List<String> command = strings(jobSpec.path("containers").get(0).path("command"));
        assertEquals(List.of("peerfs", "warmup", "--cluster"), command.subList(0, 3));
        assertTrue(command.get(3).startsWith(mountpoint + "/"), "warms a path inside the mount: " + command);
        int seen = 0;
        for (JsonNode spec : specs) {
            for (JsonNode c : spec.path("containers")) {
                for (JsonNode m : c.path("volumeMounts")) {
                    JsonNode v = volume(spec, m.path("name").asText());
                    if (v.path("hostPath").path("path").asText().equals(mountpoint)) {
                        assertEquals("HostToContainer", m.path("mountPropagation").asText(), c.path("name").asText());
                        seen++;
                    }
                }
            }
        }
        assertEquals(3, seen, "each pod mounts the node's PeerFS mount");
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

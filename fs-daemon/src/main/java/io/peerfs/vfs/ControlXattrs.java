package io.peerfs.vfs;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.peerfs.backend.PosixException;
import io.peerfs.meta.BackendMetaCache;
import io.peerfs.meta.FileAttr;
import io.peerfs.meta.Inode;
import io.peerfs.meta.MetaStore;
import io.peerfs.meta.ResultPaths;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystemException;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The mount's control interface: the virtual {@code user.peerfs.*} xattrs behind
 * {@code peerfs status, info, tag, persist, warmup, gc} ({@link XattrNames#STATUS_XATTR} and the
 * others), and the result tag {@link ResultPaths#TAG_XATTR}. Other xattr names are the
 * files' own, kept by {@link Vfs}.
 */
final class ControlXattrs {
    private static final Logger log = LoggerFactory.getLogger(ControlXattrs.class);
    private static final ObjectMapper JSON = new ObjectMapper();

    private final PathClasses paths;
    private final BackendMetaCache backend;
    private final MetaStore scratch;
    private final SourceFiles sources;
    private final ScratchFiles scratchFiles;
    private final ResultFiles results;
    private final Promotion promotion;
    private final TagSet pins;
    private final TagSet datasets;
    private final Supplier<byte[]> status;
    /** Bytes {@link XattrNames#EVICT_XATTR} dropped from this node's cache since the start. */
    private final java.util.concurrent.atomic.LongAdder evicted = new java.util.concurrent.atomic.LongAdder();
    /** Starts or ends draining this node; null for a node on its own. */
    private volatile java.util.function.Consumer<Boolean> drain;
    /** Chunks the last gc removed, -1 before the first. */
    private volatile int lastGc = -1;

    ControlXattrs(PathClasses paths, BackendMetaCache backend, MetaStore scratch, SourceFiles sources,
                  ScratchFiles scratchFiles, ResultFiles results, Promotion promotion, TagSet pins,
                  TagSet datasets, Supplier<byte[]> status) {
        this.pins = pins;
        this.datasets = datasets;
        this.paths = paths;
        this.backend = backend;
        this.scratch = scratch;
        this.sources = sources;
        this.scratchFiles = scratchFiles;
        this.results = results;
        this.promotion = promotion;
        this.status = status;
    }

    /** The value of a control xattr at {@code path}; empty when {@code name} is a file's own. */
    Optional<byte[]> get(String path, String name) throws IOException {
        String rel = Vfs.rel(path);
        if (path.equals("/") && name.equals(XattrNames.STATUS_XATTR)) {
            return Optional.of(status.get());
        }
        if (name.equals(XattrNames.EVICT_XATTR)) { // on any path of the mount: this node's total
            return Optional.of(Long.toString(evicted.sum()).getBytes(StandardCharsets.US_ASCII));
        }
        if (path.equals("/") && name.equals(XattrNames.GC_XATTR)) {
            return Optional.of(Integer.toString(lastGc).getBytes(StandardCharsets.US_ASCII));
        }
        if (name.equals(XattrNames.INFO_XATTR)) {
            return Optional.of(info(rel));
        }
        if (name.equals(XattrNames.CACHED_XATTR)) {
            return Optional.of(cached(path, rel));
        }
        if (name.equals(XattrNames.PIN_XATTR) || name.equals(XattrNames.DATASET_XATTR)) {
            paths.attrOf(rel);
            String tag = (name.equals(XattrNames.PIN_XATTR) ? pins : datasets).covering(rel);
            if (tag == null) {
                throw new NoSuchXattrException(path, name);
            }
            return Optional.of(("/" + tag).getBytes(StandardCharsets.UTF_8));
        }
        if (name.equals(ResultPaths.TAG_XATTR) && paths.tagged(rel)) {
            paths.attrOf(rel);
            return Optional.of("1".getBytes(StandardCharsets.US_ASCII));
        }
        return Optional.empty();
    }

    void onDrain(java.util.function.Consumer<Boolean> drain) {
        this.drain = drain;
    }

    /** Runs the control xattr {@code name} set to {@code value}; false when it is a file's own. */
    boolean set(String path, String name, byte[] value) throws IOException {
        String rel = Vfs.rel(path);
        if (name.equals(ResultPaths.TAG_XATTR)) {
            tag(path, new String(value, StandardCharsets.UTF_8).strip());
        } else if (name.equals(XattrNames.GC_XATTR) && rel.isEmpty()) {
            int freed = scratchFiles.freeUnreferencedChunks();
            lastGc = freed;
            log.info("gc: removed {} scratch chunks no file uses", freed);
        } else if (name.equals(XattrNames.EVICT_XATTR)) {
            String v = new String(value, StandardCharsets.US_ASCII).strip();
            if (!v.isEmpty() && !v.equals("cluster")) {
                throw PosixException.of(PosixException.EINVAL, path, null);
            }
            if (paths.scratchAt(rel).isEmpty() && results.staged(rel).isEmpty()) { // else the only copy: kept
                FileAttr attr = backend.statFresh(rel);
                if (!attr.isDirectory()) {
                    evicted.add(sources.evict(new OpenFile(rel, attr, sources.chunkSize()), v.equals("cluster")));
                }
            }
        } else if (name.equals(XattrNames.DRAIN_XATTR) && rel.isEmpty()) {
            requireRoot(path, "drain");
            String v = new String(value, StandardCharsets.US_ASCII).strip();
            if (drain == null || !(v.equals("1") || v.equals("0"))) {
                log.warn("drain: {}", drain == null ? "a node on its own (no --listen or --peers) has nothing to drain"
                        : "the value must be 1 or 0, got '" + v + "'");
                throw PosixException.of(PosixException.EINVAL, path, null);
            }
            drain.accept(v.equals("1"));
        } else if (name.equals(XattrNames.PIN_XATTR)) {
            pin(path, rel, new String(value, StandardCharsets.US_ASCII).strip());
        } else if (name.equals(XattrNames.DATASET_XATTR)) {
            dataset(path, rel, new String(value, StandardCharsets.US_ASCII).strip());
        } else if (name.equals(XattrNames.WARMUP_XATTR)) {
            warm(path, rel, new String(value, StandardCharsets.US_ASCII));
        } else if (name.equals(XattrNames.PERSIST_XATTR)) {
            promotion.persist(rel);
            paths.reloadTags();
        } else {
            return false;
        }
        return true;
    }

    /**
     * {@code peerfs cache pin}: "1" pins a path, "0" unpins it (root only: pins shape every
     * user's cache), "load OFFSET LENGTH" keeps a file's chunks resident at their owners.
     */
    private void pin(String path, String rel, String value) throws IOException {
        requireRoot(path, "cache pin");
        if (value.startsWith("load ")) {
            warm(path, rel, value.substring("load ".length()) + " pin");
            return;
        }
        paths.attrOf(rel);
        if (setTag(pins, path, rel, value, XattrNames.PIN_XATTR, "1 (pin), 0 (unpin) or 'load OFFSET LENGTH'")) {
            log.info("pinned {}: its cached chunks are evicted last, on every node that shares the metadata", path);
        }
    }

    /**
     * {@code peerfs tag --dataset}: "1" makes a backend directory a read-mostly dataset, "0"
     * ends it (root only: it decides how fresh every user's view is). Result paths change
     * through the mount, so they are not datasets.
     */
    private void dataset(String path, String rel, String value) throws IOException {
        requireRoot(path, "tag --dataset");
        if (value.equals("1")) {
            if (paths.scratchAt(rel).isPresent() || !backend.statFresh(rel).isDirectory()) {
                throw invalid(path, "only backend directories are datasets");
            }
            if (paths.isResult(rel)) {
                throw invalid(path, "a result path changes through the mount: it cannot be a read-mostly dataset");
            }
        }
        if (setTag(datasets, path, rel, value, XattrNames.DATASET_XATTR, "1 (tag) or 0 (untag)")) {
            backend.invalidateTree(rel); // what was cached before lives --meta-ttl: read it again, then keep it
            log.info("{} is a read-mostly dataset: its backend metadata is trusted for --dataset-ttl", path);
        }
    }

    /**
     * "1" tags {@code rel} in {@code set}, "0" untags it (it must be tagged itself), as xattr
     * {@code name} set to {@code value} asks; {@code values} says what it takes.
     *
     * @return true when it tagged
     */
    private static boolean setTag(TagSet set, String path, String rel, String value, String name, String values)
            throws IOException {
        if (!value.equals("1") && !value.equals("0")) {
            throw invalid(path, name + " takes " + values);
        }
        if (value.equals("0")) {
            if (!set.contains(rel)) {
                throw new NoSuchXattrException(path, name);
            }
            set.set(rel, false);
            return false;
        }
        set.set(rel, true);
        return true;
    }

    /** EPERM unless the caller is root (or the daemon itself), with the reason in the log. */
    private static void requireRoot(String path, String what) throws FileSystemException {
        io.peerfs.backend.Credentials c = io.peerfs.backend.Credentials.current();
        if (c != null && c.uid() != 0) {
            log.warn("{}: {} is for root only (uid {} asked)", path, what, c.uid());
            throw PosixException.of(PosixException.EPERM, path, null);
        }
    }

    /**
     * Loads the chunks of a byte range of a backend file (source or uploaded result data).
     * Scratch files and result files still staged are kept on this node already.
     */
    private void warm(String path, String rel, String range) throws IOException {
        String[] parts = range.strip().split(" ");
        long offset;
        long length;
        try {
            offset = Long.parseLong(parts[0]);
            length = Long.parseLong(parts[1]);
        } catch (NumberFormatException | ArrayIndexOutOfBoundsException e) {
            // the warmup xattr wants 'OFFSET LENGTH [owner]'
            throw PosixException.of(PosixException.EINVAL, path, null);
        }
        String mode = parts.length > 2 ? parts[2] : "";
        if (offset < 0 || length < 0 || paths.scratchAt(rel).isPresent() || results.staged(rel).isPresent()) {
            return;
        }
        if (mode.equals("pin")) {
            if (!sources.pinAtOwners(sourceVersion(path, rel), offset, length)) {
                log.warn("{}: a chunk's owner did not keep it resident (it does not know the pin yet, its cache"
                        + " is full of pinned data, or it did not answer)", path);
                throw PosixException.of(PosixException.EIO, path, null);
            }
            return;
        }
        if (!sources.warm(sourceVersion(path, rel), offset, length, mode.equals("owner"))) {
            throw PosixException.of(PosixException.ENOSPC, path, null); // the cache is full of pinned data
        }
    }

    private byte[] cached(String path, String rel) throws IOException {
        long bytes;
        long cached = 0;
        Optional<Inode> s = paths.scratchAt(rel);
        if (s.isPresent() || results.staged(rel).isPresent()) {
            bytes = paths.attrOf(rel).size(); // kept by this node or its holders
            cached = bytes;
        } else {
            OpenFile f = sourceVersion(path, rel);
            bytes = f.attr.size();
            cached = sources.cachedBytes(f);
        }
        return ("{\"bytes\":" + bytes + ",\"cachedBytes\":" + cached + "}").getBytes(StandardCharsets.US_ASCII);
    }

    /** The current version of a backend file, as an open would pin it. */
    private OpenFile sourceVersion(String path, String rel) throws IOException {
        FileAttr attr = backend.statFresh(rel);
        if (attr.isDirectory()) {
            throw PosixException.of(PosixException.EISDIR, path, null);
        }
        return new OpenFile(rel, attr, sources.chunkSize());
    }

    /** {@code setfattr -n user.peerfs.result -v 1 DIR}: a backend directory becomes a result path. */
    private void tag(String path, String value) throws IOException {
        String rel = Vfs.rel(path);
        if (!value.equals("1")) {
            throw invalid(path, ResultPaths.TAG_XATTR + " takes the value 1 (remove the xattr to untag)");
        }
        if (paths.scratchAt(rel).isPresent()) {
            throw invalid(path, "a scratch directory cannot be tagged: its files exist only in node caches;"
                    + " 'peerfs persist' writes it to the backend as result data");
        }
        if (!backend.statFresh(rel).isDirectory()) {
            throw invalid(path, "only directories are tagged as result paths");
        }
        scratch.tagResult(rel, true);
        paths.reloadTags();
        log.info("tagged {} as a result path: new files below it are written back to the backend", path);
    }

    /** {@code setfattr -x user.peerfs.result DIR}: the tag goes. */
    void untag(String path) throws IOException {
        String rel = Vfs.rel(path);
        paths.attrOf(rel);
        if (!paths.tagged(rel)) {
            throw new NoSuchXattrException(path, ResultPaths.TAG_XATTR);
        }
        scratch.tagResult(rel, false);
        paths.reloadTags();
        log.info("untagged {}: files below it are source data again unless a glob or a parent tag covers them", path);
    }

    /** EINVAL, with the reason in the log, since an errno cannot carry it. */
    private static FileSystemException invalid(String path, String why) {
        log.warn("{}: {}", path, why);
        return PosixException.of(PosixException.EINVAL, path, null);
    }

    /** {@code peerfs info}: the class of a path and why, as JSON. */
    private byte[] info(String rel) throws IOException {
        FileAttr attr = paths.attrOf(rel);
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("path", "/" + rel);
        Optional<ResultFiles.Staged> staged = results.staged(rel);
        if (paths.scratchAt(rel).isPresent()) {
            out.put("class", "scratch");
            out.put("why", "created through the mount outside result paths; lives only in node caches");
        } else if (paths.isResult(rel) || staged.isPresent()) {
            out.put("class", "result");
            out.put("why", paths.whyResult(rel).orElse("being written as a result file"));
        } else {
            out.put("class", "source");
            out.put("why", "on the backend and not under a result path: read-only through the mount");
        }
        staged.ifPresent(s -> out.put("uploadPending", results.pending(s)));
        String pin = pins.covering(rel);
        if (pin != null) {
            out.put("pinnedAt", "/" + pin);
        }
        String dataset = datasets.covering(rel);
        if (dataset != null) {
            out.put("datasetAt", "/" + dataset);
        }
        if (attr.isDirectory() && paths.scratchAt(rel).isEmpty()) {
            out.put("newNames", paths.isResult(rel + "/x") ? "result" : "scratch");
        } else if (attr.isDirectory()) {
            out.put("newNames", "scratch");
        }
        return JSON.writeValueAsBytes(out);
    }
}

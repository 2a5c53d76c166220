package io.peerfs.vfs;

import io.peerfs.backend.PosixException;
import io.peerfs.meta.BackendMetaCache;
import io.peerfs.meta.Inode;
import io.peerfs.meta.MetaStore;
import io.peerfs.meta.ResultPaths;
import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.LongSupplier;
import java.util.function.UnaryOperator;

/**
 * Mode, owner, times and {@code user.} xattrs of a path, for {@link Vfs}: a scratch record is
 * changed in the MetaStore from the record its lookup read (compare-and-set), a result path
 * through the {@link ResultTree} (on the backend at once), source data is refused. The
 * control xattrs ({@link ControlXattrs}) come first.
 */
final class Attributes {
    private static final int XATTR_CREATE = 1;
    private static final int XATTR_REPLACE = 2;
    /**
     * Room for one entry's xattrs, counted as ext4 counts its xattr block (4 KiB less its
     * 32-byte header; each xattr a 16-byte entry, its name past the namespace and its value
     * padded to 4 bytes): a scratch file takes what a file on ext4 takes (about 125 small
     * ones), and a program filling it (stress-ng's xattr stressor) sees ENOSPC as soon.
     */
    private static final int XATTR_SPACE = 4096 - 32;

    private final PathClasses paths;
    private final BackendMetaCache backend;
    private final MetaStore scratch;
    private final ScratchFiles scratchFiles;
    private final ResultTree resultTree;
    private final ControlXattrs control;
    private final LongSupplier clockNs;

    Attributes(PathClasses paths, BackendMetaCache backend, MetaStore scratch, ScratchFiles scratchFiles,
               ResultTree resultTree, ControlXattrs control, LongSupplier clockNs) {
        this.paths = paths;
        this.backend = backend;
        this.scratch = scratch;
        this.scratchFiles = scratchFiles;
        this.resultTree = resultTree;
        this.control = control;
        this.clockNs = clockNs;
    }

    void chmod(String path, int mode) throws IOException {
        String rel = Vfs.rel(path);
        change(paths.forChange("chmod", path), rel, i -> i.withMode(mode, clockNs.getAsLong()),
                b -> b.setMode(rel, mode));
    }

    /** Changes owner and group; {@code -1} (as an unsigned 32-bit value too) leaves one as it is. */
    void chown(String path, long uid, long gid) throws IOException {
        String rel = Vfs.rel(path);
        change(paths.forChange("chown", path), rel,
                i -> i.withOwner(unchanged(uid) ? i.uid() : (int) uid, unchanged(gid) ? i.gid() : (int) gid,
                        clockNs.getAsLong()),
                b -> b.setOwner(rel, unchanged(uid) ? -1 : (int) uid, unchanged(gid) ? -1 : (int) gid));
    }

    /**
     * Changes a path's attributes: a scratch record in the MetaStore from the record its
     * lookup read (compare-and-set), else on the backend through the {@link ResultTree}.
     *
     * @return the scratch record after the change; empty for a result path
     */
    private Optional<Inode> change(Node.Changeable n, String rel, UnaryOperator<Inode> change,
                                   ResultTree.BackendChange onBackend) throws IOException {
        if (n instanceof Node.Scratch s) {
            return Optional.of(scratch.modify(s.inode().ino(), s.inode(), change));
        }
        resultTree.setAttributes(rel, change, onBackend);
        return Optional.empty();
    }

    private static boolean unchanged(long id) {
        return id == -1 || id == 0xFFFFFFFFL;
    }

    /** Sets access and modification times (ns since the epoch); {@link Vfs#OMIT} leaves one as it is. */
    void utimens(String path, long atimeNs, long mtimeNs) throws IOException {
        String rel = Vfs.rel(path);
        UnaryOperator<Inode> change = i -> i.withTimes(atimeNs == Vfs.OMIT ? i.atimeNs() : atimeNs,
                mtimeNs == Vfs.OMIT ? i.mtimeNs() : mtimeNs, clockNs.getAsLong());
        Node.Changeable n = paths.forChange("utimens", path);
        Optional<Inode> changed = change(n, rel, change, b -> b.setTimes(rel, atimeNs, mtimeNs));
        if (changed.isPresent()) {
            scratchFiles.timesSet(changed.get());
        } else if (n instanceof Node.Staged st) {
            scratchFiles.timesSet(scratch.get(st.file().ino).orElseThrow());
        }
    }

    /**
     * An xattr's value. Only {@code user.} names are kept; others (the ACL and security names
     * {@code ls -l} and every write ask for) have no value without a look at the metadata.
     */
    byte[] getxattr(String path, String name) throws IOException {
        Optional<byte[]> c = control.get(path, name);
        if (c.isPresent()) {
            return c.get();
        }
        if (!isUserName(name)) {
            throw new NoSuchXattrException(path, name);
        }
        byte[] v = xattrsOf(path).get(name);
        if (v == null) {
            throw new NoSuchXattrException(path, name);
        }
        return v;
    }

    List<String> listxattr(String path) throws IOException {
        List<String> names = new ArrayList<>(xattrsOf(path).keySet());
        if (paths.tagged(Vfs.rel(path))) {
            names.add(ResultPaths.TAG_XATTR);
        }
        return names;
    }

    private Map<String, byte[]> xattrsOf(String path) throws IOException {
        String rel = Vfs.rel(path);
        return xattrsOf(paths.resolve(rel), rel);
    }

    /** The xattrs of a resolved path. */
    private Map<String, byte[]> xattrsOf(Node n, String rel) throws IOException {
        if (n instanceof Node.Scratch s) {
            return s.inode().xattrs();
        }
        return n instanceof Node.Staged st ? st.inode().xattrs() : backend.xattrs(rel);
    }

    /** Sets a {@code user.} xattr; {@code flags} as setxattr(2) (create, replace). Also tags and persists. */
    void setxattr(String path, String name, byte[] value, int flags) throws IOException {
        if (control.set(path, name, value)) {
            return;
        }
        String rel = Vfs.rel(path);
        requireUserNamespace(path, name);
        Node.Changeable n = paths.forChange("setxattr", path);
        Map<String, byte[]> before = xattrsOf(n, rel);
        boolean present = before.containsKey(name);
        if ((flags & XATTR_CREATE) != 0 && present) {
            throw new FileAlreadyExistsException(path, null, "xattr " + name + " exists");
        }
        if ((flags & XATTR_REPLACE) != 0 && !present) {
            throw new NoSuchXattrException(path, name);
        }
        Map<String, byte[]> after = new LinkedHashMap<>(before);
        after.put(name, value);
        if (after.entrySet().stream().mapToInt(e -> xattrCost(e.getKey(), e.getValue())).sum() > XATTR_SPACE) {
            throw PosixException.of(PosixException.ENOSPC, path, null); // as ext4 when its xattr space is full
        }
        UnaryOperator<Inode> change = i -> {
            Map<String, byte[]> x = new LinkedHashMap<>(i.xattrs());
            x.put(name, value);
            return i.withXattrs(x, clockNs.getAsLong());
        };
        if (n instanceof Node.Scratch s) {
            scratch.modify(s.inode().ino(), s.inode(), change);
        } else {
            resultTree.setXattr(rel, name, value, change);
        }
    }

    void removexattr(String path, String name) throws IOException {
        String rel = Vfs.rel(path);
        if (name.equals(ResultPaths.TAG_XATTR)) {
            control.untag(path);
            return;
        }
        Node n = paths.resolve(rel);
        if (!xattrsOf(n, rel).containsKey(name)) {
            throw new NoSuchXattrException(path, name);
        }
        UnaryOperator<Inode> change = i -> {
            Map<String, byte[]> x = new LinkedHashMap<>(i.xattrs());
            x.remove(name);
            return i.withXattrs(x, clockNs.getAsLong());
        };
        if (!(n instanceof Node.Changeable c)) {
            throw paths.refuse("removexattr", path);
        }
        change(c, rel, change, b -> b.removeXattr(rel, name));
    }

    /** What one xattr takes of {@link #XATTR_SPACE}. */
    private static int xattrCost(String name, byte[] value) {
        int nameBytes = name.getBytes(java.nio.charset.StandardCharsets.UTF_8).length - "user.".length();
        return 16 + ((nameBytes + 3) & ~3) + ((value.length + 3) & ~3);
    }

    /** Whether an xattr name is in the {@code user.} namespace, the only one PeerFS keeps. */
    private static boolean isUserName(String name) {
        return name.startsWith("user.");
    }

    private static void requireUserNamespace(String path, String name) throws FileSystemException {
        if (!isUserName(name)) {
            throw PosixException.of(PosixException.EOPNOTSUPP, path, null);
        }
    }
}

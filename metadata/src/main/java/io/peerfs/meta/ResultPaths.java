package io.peerfs.meta;

import java.nio.file.FileSystems;
import java.nio.file.Path;
import java.nio.file.PathMatcher;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.regex.PatternSyntaxException;

/**
 * Which backend paths are result paths: those matched by a {@code --result-paths} glob and
 * those at or below a tagged path ({@code user.peerfs.result=1}). A path is a result path when
 * it or any directory above it is matched or tagged.
 *
 * <p>Globs are backend-relative. {@code *} and {@code ?} stay inside one name, {@code **}
 * crosses directories, {@code {a,b}} and {@code [..]} as in shells. A glob without a
 * {@code /} matches a name at any depth ({@code *.ckpt}); {@code out/**} also matches
 * {@code out} itself, so {@code mkdir out} already writes to the backend.
 */
public final class ResultPaths {
    /** The directory xattr that tags a result path. */
    public static final String TAG_XATTR = "user.peerfs.result";

    private record Glob(String text, PathMatcher matcher, boolean byName) {
    }

    private final List<Glob> globs;

    /** @throws IllegalArgumentException with a message for the user when a glob is unusable */
    public ResultPaths(List<String> globs) {
        List<Glob> parsed = new ArrayList<>();
        for (String g : globs) {
            String text = g.strip();
            if (text.isEmpty()) {
                continue;
            }
            if (text.startsWith("/") || List.of(text.split("/")).contains("..")) {
                throw new IllegalArgumentException("result path glob '" + g
                        + "' must be relative to the backend root, without '..' (e.g. 'out/**' or '*.ckpt')");
            }
            if (text.endsWith("/**")) {
                addGlob(parsed, text.substring(0, text.length() - 3), g, false);
            }
            addGlob(parsed, text, g, !text.contains("/"));
        }
        this.globs = List.copyOf(parsed);
    }

    private static void addGlob(List<Glob> out, String pattern, String original, boolean byName) {
        try {
            out.add(new Glob(original, FileSystems.getDefault().getPathMatcher("glob:" + pattern), byName));
        } catch (PatternSyntaxException e) {
            throw new IllegalArgumentException("result path glob '" + original + "' is not a valid glob: "
                    + e.getDescription());
        }
    }

    /** The globs as given, for the log. */
    @Override
    public String toString() {
        return globs.isEmpty() ? "(none; tags only)"
                : globs.stream().map(Glob::text).distinct().collect(java.util.stream.Collectors.joining(",", "'", "'"));
    }

    public boolean isEmpty() {
        return globs.isEmpty();
    }

    /**
     * Why {@code rel} is a result path, in words for {@code peerfs info}; empty when it is not.
     *
     * @param tags the tagged paths ({@link MetaStore#resultTags()})
     */
    public Optional<String> why(String rel, Set<String> tags) {
        if (tags.contains("")) {
            return Optional.of("the mount root is tagged " + TAG_XATTR + "=1");
        }
        if (rel.isEmpty()) {
            return Optional.empty();
        }
        int end = -1;
        do {
            end = rel.indexOf('/', end + 1);
            String prefix = end < 0 ? rel : rel.substring(0, end);
            String name = prefix.substring(prefix.lastIndexOf('/') + 1);
            String where = end < 0 ? "" : " (via its directory '" + prefix + "')";
            if (tags.contains(prefix)) {
                return Optional.of((end < 0 ? "'" + prefix + "'" : "directory '" + prefix + "'")
                        + " is tagged " + TAG_XATTR + "=1");
            }
            for (Glob g : globs) {
                if (g.matcher().matches(Path.of(g.byName() ? name : prefix))) {
                    return Optional.of("matches --result-paths glob '" + g.text() + "'" + where);
                }
            }
        } while (end >= 0);
        return Optional.empty();
    }
}

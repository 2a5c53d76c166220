package io.peerfs.meta;

import java.io.IOException;

/** Paths tagged as result paths, pins and datasets. One role of a {@link MetaStore}. */
public interface TagStore {
    /** Tags ({@code on}) or untags a backend path, and so everything below it. */
    void tag(PathTag kind, String path, boolean on) throws IOException;

    /** The paths with a tag of that kind. */
    java.util.Set<String> tagged(PathTag kind) throws IOException;

    /** Tags ({@code on}) or untags a backend path as a result path: it and everything below it. */
    default void tagResult(String path, boolean on) throws IOException {
        tag(PathTag.RESULT, path, on);
    }

    /** Paths tagged as result paths. */
    default java.util.Set<String> resultTags() throws IOException {
        return tagged(PathTag.RESULT);
    }
}

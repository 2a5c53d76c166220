package io.peerfs.meta;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.util.Set;
import org.junit.jupiter.api.Test;

class PathTagTest {
    @Test
    void theNearestTaggedPathAtOrAboveAPathCoversIt() {
        Set<String> tags = Set.of("data", "data/imagenet", "models/a");
        assertEquals("data/imagenet", PathTag.covering(tags, "data/imagenet/train/x.jpg"));
        assertEquals("data/imagenet", PathTag.covering(tags, "data/imagenet"));
        assertEquals("data", PathTag.covering(tags, "data/imagenet2/x"), "a name is not a prefix of another");
        assertNull(PathTag.covering(tags, "models/ab"));
        assertNull(PathTag.covering(tags, "models"));
        assertNull(PathTag.covering(Set.of(), "data"));
        assertEquals("", PathTag.covering(Set.of(""), "any/path"), "the root covers everything");
    }
}

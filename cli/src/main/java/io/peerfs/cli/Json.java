package io.peerfs.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;

/**
 * The commands' JSON parser, created on first use: picocli builds every subcommand at
 * start, and a mapper in their static fields cost every {@code peerfs mount} 0.15 s.
 */
final class Json {
    private Json() {
    }

    private static final class Holder {
        static final ObjectMapper MAPPER = new ObjectMapper();
    }

    static JsonNode parse(String doc) throws IOException {
        return Holder.MAPPER.readTree(doc);
    }

    static JsonNode parse(byte[] doc) throws IOException {
        return Holder.MAPPER.readTree(doc);
    }
}

package io.peerfs.cli;

import io.peerfs.chunk.ByteSize;
import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/** picocli converters for the value types of PeerFS options. */
final class Converters {
    private Converters() {
    }

    /** {@code 4MiB}, {@code 10G}, {@code 1048576}. */
    static final class Size implements ITypeConverter<ByteSize> {
        @Override
        public ByteSize convert(String value) {
            try {
                return ByteSize.parse(value);
            } catch (IllegalArgumentException e) {
                throw new TypeConversionException(e.getMessage());
            }
        }
    }

    /** {@code --libfuse}: 2, 3, or none (0: PeerFS's own FUSE loop). */
    static final class Libfuse implements ITypeConverter<Integer> {
        @Override
        public Integer convert(String value) {
            return switch (value.trim()) {
                case "2" -> 2;
                case "3" -> 3;
                case "none" -> 0;
                default -> throw new TypeConversionException("'" + value + "' is not 2, 3 or none");
            };
        }
    }

    /** {@code 1s}, {@code 500ms}, {@code 2m}, {@code 1h}, {@code 0}. */
    static final class Time implements ITypeConverter<Duration> {
        private static final Pattern FORM = Pattern.compile("(\\d+(?:\\.\\d+)?)(ms|s|m|h)?");

        @Override
        public Duration convert(String value) {
            Matcher m = FORM.matcher(value.trim());
            if (!m.matches()) {
                throw new TypeConversionException("'" + value + "' is not a duration; write e.g. 1s, 500ms or 2m");
            }
            double n = Double.parseDouble(m.group(1));
            String unit = m.group(2) == null ? "s" : m.group(2);
            double ms = switch (unit) {
                case "ms" -> n;
                case "m" -> n * 60_000;
                case "h" -> n * 3_600_000;
                default -> n * 1000;
            };
            return Duration.ofMillis(Math.round(ms));
        }
    }
}

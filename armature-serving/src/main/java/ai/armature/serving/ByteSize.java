package ai.armature.serving;

import java.util.Locale;

/** Parses byte sizes as users write them: {@code 2GiB}, {@code 512MiB}, {@code 1.5GB}, {@code 4096} (bytes). */
public final class ByteSize {

    private ByteSize() {
    }

    public static long parse(String text) {
        String s = text.trim();
        int i = 0;
        while (i < s.length() && (Character.isDigit(s.charAt(i)) || s.charAt(i) == '.')) i++;
        String number = s.substring(0, i);
        String unit = s.substring(i).trim().toLowerCase(Locale.ROOT);
        long multiplier = switch (unit) {
            case "", "b" -> 1L;
            case "k", "kb" -> 1_000L;
            case "kib" -> 1L << 10;
            case "m", "mb" -> 1_000_000L;
            case "mib" -> 1L << 20;
            case "g", "gb" -> 1_000_000_000L;
            case "gib" -> 1L << 30;
            case "t", "tb" -> 1_000_000_000_000L;
            case "tib" -> 1L << 40;
            default -> throw new IllegalArgumentException(
                    "cannot read the size '" + text + "': write a number with an optional unit B, KB, KiB, MB, MiB, GB, GiB, TB, TiB");
        };
        try {
            double value = Double.parseDouble(number);
            if (value < 0) throw new NumberFormatException();
            return (long) (value * multiplier);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("cannot read the size '" + text + "': it must start with a non-negative number");
        }
    }
}

package ai.armature.bench;

import java.time.Duration;
import java.util.Locale;

/** Parses the durations the bench flags take: {@code 250ms}, {@code 2s}, {@code 1.5m}, {@code 1h}, or plain seconds. */
public final class Durations {

    private Durations() {
    }

    public static Duration parse(String text) {
        String t = text.strip().toLowerCase(Locale.ROOT);
        double scale = 1e9;
        String num = t;
        if (t.endsWith("ms")) {
            scale = 1e6;
            num = t.substring(0, t.length() - 2);
        } else if (t.endsWith("s")) {
            num = t.substring(0, t.length() - 1);
        } else if (t.endsWith("m")) {
            scale = 60e9;
            num = t.substring(0, t.length() - 1);
        } else if (t.endsWith("h")) {
            scale = 3600e9;
            num = t.substring(0, t.length() - 1);
        }
        try {
            double v = Double.parseDouble(num);
            if (v < 0 || Double.isNaN(v) || Double.isInfinite(v)) {
                throw new NumberFormatException();
            }
            return Duration.ofNanos(Math.round(v * scale));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("'" + text + "' is not a duration: use e.g. 250ms, 2s, 1.5m or 1h");
        }
    }

    /** Seconds as a double, for SLO flags. */
    public static double seconds(String text) {
        return parse(text).toNanos() / 1e9;
    }
}

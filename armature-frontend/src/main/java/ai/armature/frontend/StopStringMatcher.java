package ai.armature.frontend;

import java.util.List;

/**
 * Finds stop strings in streamed text that arrives in pieces, so a stop string split across tokens is still found
 * and never emitted. {@link #accept} returns only text that can no longer be part of a stop string: a tail that is
 * a proper prefix of some stop string is held back until later text decides it. Not thread-safe: one per sequence.
 */
final class StopStringMatcher {

    private final String[] stops;
    private final int longest;
    private final StringBuilder pending = new StringBuilder();
    private boolean stopped;
    private String matched;

    StopStringMatcher(List<String> stopStrings) {
        this.stops = stopStrings.toArray(String[]::new);
        int max = 0;
        for (String s : stops) {
            if (s.isEmpty()) throw new IllegalArgumentException("stop strings must not be empty");
            max = Math.max(max, s.length());
        }
        this.longest = max;
    }

    /** Whether a stop string has been seen; after that every call returns "". */
    boolean stopped() {
        return stopped;
    }

    /** The stop string that was found, or null. */
    String matched() {
        return matched;
    }

    /** Adds {@code piece}; returns the text now safe to emit (everything before a stop string once one is found). */
    String accept(String piece) {
        if (stopped) return "";
        if (piece.isEmpty() && pending.isEmpty()) return "";
        pending.append(piece);
        int first = -1;
        for (String s : stops) {
            int at = pending.indexOf(s);
            if (at >= 0 && (first < 0 || at < first)) {
                first = at;
                matched = s;
            }
        }
        if (first >= 0) {
            stopped = true;
            String out = pending.substring(0, first);
            pending.setLength(0);
            return out;
        }
        int hold = heldSuffixLength();
        int emit = pending.length() - hold;
        if (emit == 0) return "";
        String out = pending.substring(0, emit);
        pending.delete(0, emit);
        return out;
    }

    /** Ends the text: whatever is still held back cannot become a stop string any more and is returned. */
    String finish() {
        if (stopped) return "";
        String out = pending.toString();
        pending.setLength(0);
        return out;
    }

    /** The length of the longest tail of {@code pending} that is a proper prefix of a stop string. */
    private int heldSuffixLength() {
        int len = pending.length();
        for (int k = Math.min(len, longest - 1); k > 0; k--) {
            int from = len - k;
            for (String s : stops) {
                if (s.length() > k && regionEquals(from, s, k)) return k;
            }
        }
        return 0;
    }

    private boolean regionEquals(int from, String s, int k) {
        for (int i = 0; i < k; i++) {
            if (pending.charAt(from + i) != s.charAt(i)) return false;
        }
        return true;
    }
}

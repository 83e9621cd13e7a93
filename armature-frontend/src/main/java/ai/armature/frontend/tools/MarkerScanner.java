package ai.armature.frontend.tools;

/**
 * Finds a marker in text that arrives in pieces: {@link #scan} returns the text before the marker that is safe to
 * pass on, holding back a tail that may be the marker's beginning, and tells whether the marker was found (what
 * follows it is then in {@link #rest()}).
 */
final class MarkerScanner {

    private final String marker;
    private final StringBuilder pending = new StringBuilder();
    private String rest = "";

    MarkerScanner(String marker) {
        this.marker = marker;
    }

    /** Adds {@code text}; returns the text before the marker (or the safe part), and sets {@link #found()}. */
    String scan(String text) {
        pending.append(text);
        int at = pending.indexOf(marker);
        if (at >= 0) {
            String before = pending.substring(0, at);
            rest = pending.substring(at + marker.length());
            pending.setLength(0);
            found = true;
            return before;
        }
        found = false;
        int hold = 0;
        for (int k = Math.min(marker.length() - 1, pending.length()); k > 0; k--) {
            if (pending.substring(pending.length() - k).equals(marker.substring(0, k))) {
                hold = k;
                break;
            }
        }
        String out = pending.substring(0, pending.length() - hold);
        pending.delete(0, pending.length() - hold);
        return out;
    }

    private boolean found;

    boolean found() {
        return found;
    }

    /** The text after the marker, once found. */
    String rest() {
        return rest;
    }

    /** Whatever is still held back (the output ended: it was not the marker). */
    String drain() {
        String s = pending.toString();
        pending.setLength(0);
        return s;
    }
}

package ai.armature.planner;

import java.util.Locale;

/**
 * A set of interchangeable workers the planner sizes: {@link #AGGREGATED} workers do prefill and decode; in
 * disaggregated serving {@link #PREFILL} workers compute prompts (sized by TTFT) and {@link #DECODE} workers
 * generate (sized by ITL). The names are the {@code role} of the workers' model cards.
 */
public enum Pool {
    AGGREGATED, PREFILL, DECODE;

    /** The role name as worker cards and flags spell it. */
    public String roleName() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** The pool of a worker card's role (aggregated, prefill or decode). */
    public static Pool ofRole(String role) {
        for (Pool p : values()) if (p.roleName().equalsIgnoreCase(role)) return p;
        throw new IllegalArgumentException("unknown worker role '" + role + "': use aggregated, prefill or decode");
    }

    /** Whether this pool's workers compute prompts (their TTFT counts). */
    public boolean prefills() {
        return this != DECODE;
    }

    /** Whether this pool's workers generate tokens (their ITL counts). */
    public boolean decodes() {
        return this != PREFILL;
    }
}

package ai.armature.sim;

import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;

/**
 * {@code bench load}'s multi-turn workload in tokens: U users, each holding a conversation of T turns. Every turn
 * sends the whole history (an optional system prompt shared by all users, then each earlier user message and the
 * reply the worker actually generated) plus a new user message; the next turn comes {@code thinkTime} after the
 * reply. Users start spread evenly over the first second.
 */
public final class MultiTurnLoad implements SimWorkload {

    private final int users, turns, userTokens, osl, systemTokens;
    private final long thinkNanos;
    private final TokenSynth tokens;
    private final int[][] history;
    private final int[] turn;
    private final Map<String, Integer> userOf = new HashMap<>();

    public MultiTurnLoad(int users, int turns, int userTokens, int osl, int systemTokens, long thinkNanos, int vocab, long seed) {
        if (users < 1 || turns < 1 || userTokens < 1 || osl < 1) {
            throw new IllegalArgumentException("--users, --turns, --isl and --osl must all be at least 1");
        }
        if (systemTokens < 0 || thinkNanos < 0) throw new IllegalArgumentException("--system-prompt-len and --think-time must be >= 0");
        this.users = users;
        this.turns = turns;
        this.userTokens = userTokens;
        this.osl = osl;
        this.systemTokens = systemTokens;
        this.thinkNanos = thinkNanos;
        this.tokens = new TokenSynth(seed, vocab);
        this.history = new int[users][];
        this.turn = new int[users];
    }

    @Override
    public void start(Context ctx) {
        for (int u = 0; u < users; u++) {
            int[] h = new int[systemTokens];
            tokens.fill(1L << 41, 0, systemTokens, h, 0);
            history[u] = h;
            int user = u;
            ctx.at((long) u * 1_000_000_000L / users, () -> send(user, ctx));
        }
    }

    private void send(int u, Context ctx) {
        int[] h = history[u];
        int[] prompt = Arrays.copyOf(h, h.length + userTokens);
        tokens.fill((1L << 42) + (long) u * 65_536 + turn[u], 0, userTokens, prompt, h.length);
        history[u] = prompt;
        String id = "user-" + u + "/turn-" + turn[u];
        userOf.put(id, u);
        turn[u]++;
        ctx.submit(new SimRequest(id, prompt, osl, ctx.now()));
    }

    @Override
    public void finished(SimRequest request, int[] generated, Context ctx) {
        Integer u = userOf.remove(request.id());
        if (u == null) return;
        int[] h = history[u];
        int[] grown = Arrays.copyOf(h, h.length + generated.length);
        System.arraycopy(generated, 0, grown, h.length, generated.length);
        history[u] = grown;
        if (turn[u] < turns) ctx.at(ctx.now() + thinkNanos, () -> send(u, ctx));
    }

    @Override
    public boolean usesReplies() {
        return true;
    }

    @Override
    public long totalRequests() {
        return (long) users * turns;
    }

    @Override
    public String describe() {
        return "multi-turn users=" + users + " turns=" + turns + " user-tokens=" + userTokens + " osl=" + osl
                + " think-time=" + thinkNanos / 1e9 + "s" + (systemTokens > 0 ? " system=" + systemTokens : "");
    }
}

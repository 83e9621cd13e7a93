package ai.armature.router.policy;

/**
 * KV-aware routing: every candidate's {@link Cost} from its predicted cached prefix (the KV indexer) and its load;
 * the cheapest wins (ties by load, then at random). With a temperature above 0 the choice is sampled instead, with
 * probability proportional to {@code exp(-(cost / max cost) / temperature)}: costs normalised by the largest so one
 * temperature means the same at any scale; a little randomness spreads bursts of identical requests.
 */
public final class KvPolicy implements RoutingPolicy {

    private final double prefillWeight;
    private final double temperature;
    private final int unitTokens;

    public KvPolicy(double prefillWeight, double temperature, int unitTokens) {
        if (!(prefillWeight >= 0) || Double.isInfinite(prefillWeight)) {
            throw new IllegalArgumentException("--router-prefill-weight must be a number >= 0, got " + prefillWeight);
        }
        if (!(temperature >= 0) || Double.isInfinite(temperature)) {
            throw new IllegalArgumentException("--router-temperature must be a number >= 0, got " + temperature);
        }
        if (unitTokens < 1) throw new IllegalArgumentException("the cost unit must be >= 1 token");
        this.prefillWeight = prefillWeight;
        this.temperature = temperature;
        this.unitTokens = unitTokens;
    }

    @Override
    public String name() {
        return "kv";
    }

    @Override
    public boolean usesIndexer() {
        return true;
    }

    @Override
    public int select(Candidates c) {
        if (temperature == 0) return cheapest(c);
        double[] cost = c.scores();
        double max = 0;
        for (int i = 0; i < c.size(); i++) {
            cost[i] = Cost.of(prefillWeight, c.uncachedTokens(i), c.prefillTokens(i), c.contextTokens(i), unitTokens);
            max = Math.max(max, cost[i]);
        }
        if (max == 0) return c.argmin(cost);
        double min = Double.MAX_VALUE;
        for (int i = 0; i < c.size(); i++) min = Math.min(min, cost[i]);
        double total = 0;
        for (int i = 0; i < c.size(); i++) {
            // Shifted by the minimum so the best weight is exp(0) = 1 and nothing underflows to an all-zero sum.
            cost[i] = Math.exp(-(cost[i] - min) / max / temperature);
            total += cost[i];
        }
        double u = c.random().nextDouble() * total;
        for (int i = 0; i < c.size(); i++) {
            u -= cost[i];
            if (u < 0) return i;
        }
        return c.size() - 1;
    }

    /**
     * The cheapest candidate, ties by token load then uniformly at random: one pass computing each cost and load
     * (kept for the tie pass, which runs only when there are ties and reads them back in order).
     */
    private int cheapest(Candidates c) {
        int n = c.size();
        double[] cost = c.scores();
        long[] load = c.loads();
        int best = -1, ties = 0;
        double bestCost = Double.MAX_VALUE;
        long bestLoad = Long.MAX_VALUE;
        int prompt = c.promptLength();
        double w = prefillWeight;
        for (int i = 0; i < n; i++) {
            long prefill = c.prefillTokens(i), context = c.contextTokens(i);
            double k = Cost.inTokens(w, prompt - c.cachedTokens(i), prefill, context);
            long l = prefill + context;
            cost[i] = k;
            load[i] = l;
            if (k < bestCost || (k == bestCost && l < bestLoad)) {
                best = i;
                bestCost = k;
                bestLoad = l;
                ties = 1;
            } else if (k == bestCost && l == bestLoad) {
                ties++;
            }
        }
        if (ties <= 1) return best;
        int pick = c.random().nextInt(ties);
        for (int i = best; i < n; i++) if (cost[i] == bestCost && load[i] == bestLoad && pick-- == 0) return i;
        return best;
    }
}

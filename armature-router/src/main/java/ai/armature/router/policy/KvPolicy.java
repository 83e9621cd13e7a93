package ai.armature.router.policy;

/**
 * KV-aware routing: every candidate's {@link Cost} from its predicted cached prefix (the KV indexer) and its load;
 * the cheapest wins (ties by load, then at random). With a temperature above 0 the choice is sampled instead, with
 * probability proportional to {@code exp(-(cost / max cost) / temperature)}: costs normalised by the largest so one
 * temperature means the same at any scale; a little randomness spreads bursts of identical requests.
 */
public final class KvPolicy implements RoutingPolicy {

    private final Cost cost;
    private final double temperature;
    private final int unitTokens;

    public KvPolicy(Cost cost, double temperature, int unitTokens) {
        if (!(temperature >= 0) || Double.isInfinite(temperature)) {
            throw new IllegalArgumentException("--router-temperature must be a number >= 0, got " + temperature);
        }
        if (unitTokens < 1) throw new IllegalArgumentException("the cost unit must be >= 1 token");
        this.cost = java.util.Objects.requireNonNull(cost, "cost");
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
        if (temperature == 0) {
            LoadTermOrder order = c.order();
            return order != null && order.exact() && order.size() == c.size() ? cheapestOrdered(c, order) : cheapest(c);
        }
        double[] cost = c.scores();
        double max = 0;
        for (int i = 0; i < c.size(); i++) {
            cost[i] = this.cost.of(c.uncachedTokens(i), c.prefillTokens(i), c.contextTokens(i), unitTokens);
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

    /** The cost function this policy ranks workers by. */
    public Cost cost() {
        return cost;
    }

    /**
     * Whether decisions can use a {@link LoadTermOrder} and choose exactly what a scan of every candidate would: the
     * cheapest worker is picked (no sampling), a cached prefix lowers the cost (prefill weight above 0) and costs are
     * exact in doubles ({@link Cost#exact}).
     */
    public boolean ordered() {
        return temperature == 0 && cost.prefillWeight() > 0 && cost.exact();
    }

    /**
     * {@link #cheapest} without looking at every candidate: the candidates are the workers of {@code order}, in its
     * positions. A worker with no cached prefix costs {@code prefillWeight * prompt + loadTerm}, so the best of those is
     * the order's minimum, and the workers tied with it are the order's minimum set; only the workers the index match
     * touched are costed one by one. The minimum set may hold touched workers only when one of them has the smallest
     * load term, and then that one is strictly cheaper than every untouched worker (its cached prefix lowers its cost),
     * so the minimum set cannot win or tie, and the two sets counted as ties never overlap. The same random draw as
     * {@link #cheapest} (one, only when there are ties) picks the same tie in candidate order.
     */
    int cheapestOrdered(Candidates c, LoadTermOrder order) {
        int prompt = c.promptLength();
        int[] ties = c.positions();
        int touchedTies = 0;
        double bestCost = Double.MAX_VALUE;
        long bestLoad = Long.MAX_VALUE;
        for (int j = 0, m = c.touchedCount(); j < m; j++) {
            int slot = c.touchedSlot(j);
            int pos = order.position(slot);
            if (pos < 0) continue;
            int cached = c.cachedTokensOfSlot(slot);
            if (cached == 0) continue; // costed like any untouched worker, by the order
            long prefill = c.prefillTokensOfSlot(slot), context = c.contextTokensOfSlot(slot);
            double k = cost.inTokens(prompt - cached, prefill, context);
            long l = prefill + context;
            if (k < bestCost || (k == bestCost && l < bestLoad)) {
                bestCost = k;
                bestLoad = l;
                touchedTies = 0;
                ties[touchedTies++] = pos;
            } else if (k == bestCost && l == bestLoad) {
                if (touchedTies == ties.length) ties = c.positions(touchedTies + 1);
                ties[touchedTies++] = pos;
            }
        }
        int untouchedTies = 0;
        if (order.minCount() > 0) {
            int rep = order.slotAt(order.kthAtMin(0));
            long prefill = c.prefillTokensOfSlot(rep), context = c.contextTokensOfSlot(rep);
            double k = cost.inTokens(prompt, prefill, context);
            long l = prefill + context;
            if (k < bestCost || (k == bestCost && l < bestLoad)) {
                touchedTies = 0;
                untouchedTies = order.minCount();
            } else if (k == bestCost && l == bestLoad) {
                untouchedTies = order.minCount();
            }
        }
        int total = touchedTies + untouchedTies;
        if (total == 1) return touchedTies == 1 ? ties[0] : order.kthAtMin(0);
        int pick = c.random().nextInt(total);
        java.util.Arrays.sort(ties, 0, touchedTies);
        if (untouchedTies == 0) return ties[pick];
        // The pick-th of the union in position order: touched ties interleave with the order's minimum set.
        for (int j = 0; j < touchedTies; j++) {
            int at = order.rankAtMin(ties[j]) + j;
            if (at == pick) return ties[j];
            if (at > pick) return order.kthAtMin(pick - j);
        }
        return order.kthAtMin(pick - touchedTies);
    }

    /**
     * The cheapest candidate, ties by token load then uniformly at random: one pass computing each cost and load
     * (kept for the tie pass, which runs only when there are ties and reads them back in order).
     */
    int cheapest(Candidates c) {
        int n = c.size();
        double[] cost = c.scores();
        long[] load = c.loads();
        int best = -1, ties = 0;
        double bestCost = Double.MAX_VALUE;
        long bestLoad = Long.MAX_VALUE;
        int prompt = c.promptLength();
        Cost w = this.cost;
        for (int i = 0; i < n; i++) {
            long prefill = c.prefillTokens(i), context = c.contextTokens(i);
            double k = w.inTokens(prompt - c.cachedTokens(i), prefill, context);
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

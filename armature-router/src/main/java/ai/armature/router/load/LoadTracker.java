package ai.armature.router.load;

import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.Map;
import java.util.Set;

import ai.armature.protocol.EngineStats;
import ai.armature.router.policy.LoadTermOrder;

/**
 * The load every worker carries, as the cost function needs it: requests in flight, prompt tokens still to prefill
 * (of requests routed but not yet at their first token, minus what was predicted cached) and context tokens of
 * requests in flight (what decode steps read). Kept from routing decisions (this router's and its replicas', by
 * router id: added when routed, prefill done at the first token, released at finish or cancel), so a burst of
 * requests sees the load of the ones before it at once, without waiting for workers to report.
 *
 * <p>Workers' load reports correct it: a report shows load the bookkeeping cannot know (requests from outside the
 * router group, recomputation after preemption). Only the excess counts, so nothing is counted twice: external
 * prefill = max(0, reported pending prefill tokens - prompt tokens of tracked requests still in prefill), external
 * requests = max(0, reported waiting + running - tracked requests), external context = max(0, reported KV tokens in
 * use - tracked context tokens); the excess holds until the next report.
 *
 * <p>Indexed by the worker slots of the router's indexer. Not thread-safe (the router serialises calls).
 */
public final class LoadTracker {

    /** One request in flight. */
    private static final class Active {
        final String routerId;
        final int slot;
        final int promptTokens;
        final int uncachedTokens;
        boolean prefilling = true;

        Active(String routerId, int slot, int promptTokens, int uncachedTokens) {
            this.routerId = routerId;
            this.slot = slot;
            this.promptTokens = promptTokens;
            this.uncachedTokens = uncachedTokens;
        }
    }

    private final Map<Key, Active> requests = new HashMap<>();
    private final Map<String, Set<Key>> byRouter = new HashMap<>();
    private final Map<String, Long> peerLastSeen = new HashMap<>();

    private int[] active = new int[16];
    private long[] prefill = new long[16];
    private long[] prefillPrompt = new long[16];
    private long[] context = new long[16];
    private int[] extActive = new int[16];
    private long[] extPrefill = new long[16];
    private long[] extContext = new long[16];
    private int[] blockSize = new int[16];
    // Tracked plus reported excess, kept current on every change: what a decision reads, one array per quantity.
    private int[] totalActive = new int[16];
    private long[] totalPrefill = new long[16];
    private long[] totalContext = new long[16];

    /**
     * Keeps {@code order} current with every change of a worker's totals, after ordering the workers
     * {@code slots[0, n)} by their present load (null: keep none).
     */
    public void keepOrdered(LoadTermOrder order, int[] slots, int n) {
        this.order = order;
        if (order != null) order.rebuild(slots, n, totalPrefill, totalContext);
    }

    private LoadTermOrder order;

    /**
     * Counts, among the workers {@code slots[0, n)}, those with at least {@code bound} prompt tokens queued for
     * prefill ({@link #busy}), kept current on every change (0: none is ever busy).
     */
    public void countBusy(long bound, int[] slots, int n) {
        busyBound = bound;
        Arrays.fill(counted, false);
        busyCounted = 0;
        for (int i = 0; i < n; i++) {
            int s = slots[i];
            counted[s] = true;
            busy[s] = bound > 0 && totalPrefill[s] >= bound;
            if (busy[s]) busyCounted++;
        }
    }

    /** Whether the worker has at least the {@link #countBusy} bound of prompt tokens queued for prefill. */
    public boolean busy(int slot) {
        return busy[slot];
    }

    /** How many of the workers given to {@link #countBusy} are busy now. */
    public int busyCount() {
        return busyCounted;
    }

    private long busyBound;
    private boolean[] counted = new boolean[16];
    private boolean[] busy = new boolean[16];
    private int busyCounted;

    /** Starts tracking a worker slot (whose KV blocks hold {@code blockSize} tokens each). */
    public void addWorker(int slot, int blockSize) {
        ensure(slot);
        clearSlot(slot);
        this.blockSize[slot] = blockSize;
    }

    /** Stops tracking a worker: its requests no longer count anywhere. */
    public void removeWorker(int slot) {
        for (Iterator<Map.Entry<Key, Active>> it = requests.entrySet().iterator(); it.hasNext(); ) {
            Map.Entry<Key, Active> e = it.next();
            if (e.getValue().slot != slot) continue;
            Set<Key> keys = byRouter.get(e.getValue().routerId);
            if (keys != null) keys.remove(e.getKey());
            it.remove();
        }
        clearSlot(slot);
    }

    /** A request was routed to {@code slot}. A request already tracked under the same key is replaced. */
    public void routed(String routerId, String requestId, int slot, int promptTokens, int cachedTokens) {
        Key key = new Key(routerId, requestId);
        Active a = new Active(routerId, slot, promptTokens, Math.max(0, promptTokens - cachedTokens));
        Active replaced = requests.put(key, a);
        if (replaced != null) release(replaced); // its key stays in byRouter, now for the new booking
        else byRouter.computeIfAbsent(routerId, r -> new HashSet<>()).add(key);
        active[slot]++;
        prefill[slot] += a.uncachedTokens;
        prefillPrompt[slot] += promptTokens;
        context[slot] += promptTokens;
        sum(slot);
    }

    /** The request's first token arrived. No-op if unknown or already decoding. */
    public void firstToken(String routerId, String requestId) {
        Active a = requests.get(new Key(routerId, requestId));
        if (a == null || !a.prefilling) return;
        a.prefilling = false;
        prefill[a.slot] -= a.uncachedTokens;
        prefillPrompt[a.slot] -= a.promptTokens;
        sum(a.slot);
    }

    /** The request ended. No-op if unknown. */
    public void finished(String routerId, String requestId) {
        Key key = new Key(routerId, requestId);
        Active a = requests.remove(key);
        if (a == null) return;
        Set<Key> keys = byRouter.get(routerId);
        if (keys != null) keys.remove(key);
        release(a);
    }

    /** Drops every request of a router (it left, or its heartbeats stopped). */
    public void dropRouter(String routerId) {
        Set<Key> keys = byRouter.remove(routerId);
        peerLastSeen.remove(routerId);
        if (keys == null) return;
        for (Key k : keys) {
            Active a = requests.remove(k);
            if (a != null) release(a);
        }
    }

    /** Notes that a replica was heard from at {@code now} (nanoseconds). */
    public void peerSeen(String routerId, long now) {
        peerLastSeen.put(routerId, now);
    }

    /** Drops the requests of replicas not heard from since {@code now - ttl}; returns how many replicas expired. */
    public int expirePeers(long now, long ttlNanos) {
        int n = 0;
        for (String r : peerLastSeen.entrySet().stream().filter(e -> now - e.getValue() > ttlNanos).map(Map.Entry::getKey).toList()) {
            dropRouter(r);
            n++;
        }
        return n;
    }

    /** Replicas currently heard from. */
    public Set<String> peers() {
        return Set.copyOf(peerLastSeen.keySet());
    }

    /** Applies a worker's load report (see the class comment). */
    public void report(int slot, EngineStats s) {
        extActive[slot] = Math.max(0, s.waitingRequests() + s.runningRequests() - active[slot]);
        extPrefill[slot] = Math.max(0, s.pendingPrefillTokens() - prefillPrompt[slot]);
        extContext[slot] = Math.max(0, s.kvBlocksUsed() * blockSize[slot] - context[slot]);
        sum(slot);
    }

    /** Requests in flight on the worker (tracked plus reported excess). */
    public int activeRequests(int slot) {
        return totalActive[slot];
    }

    /** Prompt tokens still to prefill on the worker, cached ones excluded (tracked plus reported excess). */
    public long prefillTokens(int slot) {
        return totalPrefill[slot];
    }

    /** Context tokens of the worker's requests in flight (tracked plus reported excess). */
    public long contextTokens(int slot) {
        return totalContext[slot];
    }

    /** Requests tracked (all routers). */
    public int trackedRequests() {
        return requests.size();
    }

    /** Requests tracked for one router. */
    public int trackedRequests(String routerId) {
        Set<Key> keys = byRouter.get(routerId);
        return keys == null ? 0 : keys.size();
    }

    private void release(Active a) {
        active[a.slot]--;
        context[a.slot] -= a.promptTokens;
        if (a.prefilling) {
            prefill[a.slot] -= a.uncachedTokens;
            prefillPrompt[a.slot] -= a.promptTokens;
        }
        sum(a.slot);
    }

    private void sum(int slot) {
        totalActive[slot] = active[slot] + extActive[slot];
        totalPrefill[slot] = prefill[slot] + extPrefill[slot];
        totalContext[slot] = context[slot] + extContext[slot];
        if (order != null) order.update(slot, totalPrefill[slot], totalContext[slot]);
        boolean b = busyBound > 0 && totalPrefill[slot] >= busyBound;
        if (b != busy[slot]) {
            busy[slot] = b;
            if (counted[slot]) busyCounted += b ? 1 : -1;
        }
    }

    private void clearSlot(int slot) {
        active[slot] = 0;
        prefill[slot] = prefillPrompt[slot] = context[slot] = 0;
        extActive[slot] = 0;
        extPrefill[slot] = extContext[slot] = 0;
        sum(slot);
    }

    private void ensure(int slot) {
        if (slot < active.length) return;
        int n = Math.max(slot + 1, active.length * 2);
        active = Arrays.copyOf(active, n);
        prefill = Arrays.copyOf(prefill, n);
        prefillPrompt = Arrays.copyOf(prefillPrompt, n);
        context = Arrays.copyOf(context, n);
        extActive = Arrays.copyOf(extActive, n);
        extPrefill = Arrays.copyOf(extPrefill, n);
        extContext = Arrays.copyOf(extContext, n);
        blockSize = Arrays.copyOf(blockSize, n);
        totalActive = Arrays.copyOf(totalActive, n);
        totalPrefill = Arrays.copyOf(totalPrefill, n);
        totalContext = Arrays.copyOf(totalContext, n);
        counted = Arrays.copyOf(counted, n);
        busy = Arrays.copyOf(busy, n);
    }

    /** A request's key: its router and its id there (both hash codes are cached by their strings). */
    private record Key(String routerId, String requestId) {
    }
}

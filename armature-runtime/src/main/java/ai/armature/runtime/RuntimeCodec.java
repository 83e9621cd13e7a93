package ai.armature.runtime;

import ai.armature.protocol.EngineStats;
import ai.armature.protocol.TrafficCounters;
import ai.armature.protocol.FinishReason;
import ai.armature.protocol.GenerateOutput;
import ai.armature.protocol.GenerateRequest;
import ai.armature.protocol.Migration;
import ai.armature.protocol.ModelCard;
import ai.armature.protocol.LogitBias;
import ai.armature.protocol.SamplingParams;
import ai.armature.protocol.StopConditions;
import ai.armature.protocol.TokenLogprob;
import ai.armature.protocol.Usage;
import ai.armature.protocol.kv.KvCacheSnapshot;
import ai.armature.protocol.kv.KvEvent;
import ai.armature.protocol.kv.KvTier;
import ai.armature.protocol.kv.KvTransfer;
import ai.armature.runtime.proto.AllBlocksCleared;
import ai.armature.runtime.proto.BlockRemoved;
import ai.armature.runtime.proto.BlockStored;
import ai.armature.runtime.proto.TierHashes;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.util.JsonFormat;

import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Converts between the records of armature-protocol and their protobuf messages (runtime.proto), both ways, so
 * that what crosses a process boundary is exactly what crossed the module boundary. Decoding validates through
 * the records' constructors: a malformed message is an IllegalArgumentException.
 */
public final class RuntimeCodec {

    private static final JsonFormat.Printer JSON = JsonFormat.printer().omittingInsignificantWhitespace();
    private static final JsonFormat.Parser JSON_PARSER = JsonFormat.parser().ignoringUnknownFields();

    private RuntimeCodec() {
    }

    // ---- requests ----

    public static ai.armature.runtime.proto.GenerateRequest toProto(GenerateRequest r) {
        var b = ai.armature.runtime.proto.GenerateRequest.newBuilder()
                .setRequestId(r.requestId())
                .setSampling(toProto(r.sampling()))
                .setStop(toProto(r.stop()))
                .setPriority(r.priority());
        for (int t : r.promptTokens()) b.addPromptTokens(t);
        if (r.cacheSalt() != null) b.setCacheSalt(r.cacheSalt());
        if (r.migration() != null) {
            b.setMigration(ai.armature.runtime.proto.Migration.newBuilder().setGeneratedTokens(r.migration().generatedTokens())
                    .setAttempt(r.migration().attempt()).addAllExcludedWorkerIds(r.migration().excludedWorkerIds()));
        }
        if (r.constraint() != null) {
            var c = ai.armature.runtime.proto.OutputConstraint.newBuilder().setKind(r.constraint().kind().name()).setSpec(r.constraint().spec());
            var reasoning = r.constraint().reasoning();
            if (reasoning != null) {
                c.setReasoning(ai.armature.runtime.proto.ReasoningPrefix.newBuilder().setOpen(reasoning.open()).setClose(reasoning.close())
                        .setStarted(reasoning.started()));
            }
            b.setConstraint(c);
        }
        switch (r.kvTransfer()) {
            case null -> { }
            case KvTransfer.Hold h -> b.setKvTransfer(ai.armature.runtime.proto.KvTransfer.newBuilder()
                    .setHold(ai.armature.runtime.proto.KvHold.newBuilder().setTransferId(h.transferId())));
            case KvTransfer.Fetch f -> b.setKvTransfer(ai.armature.runtime.proto.KvTransfer.newBuilder()
                    .setFetch(ai.armature.runtime.proto.KvFetch.newBuilder().setTransferId(f.transferId())
                            .setSourceWorkerId(f.sourceWorkerId()).setSourceAddress(f.sourceAddress())));
        }
        return b.build();
    }

    private static KvTransfer fromProto(ai.armature.runtime.proto.KvTransfer t) {
        return switch (t.getKindCase()) {
            case HOLD -> new KvTransfer.Hold(t.getHold().getTransferId());
            case FETCH -> new KvTransfer.Fetch(t.getFetch().getTransferId(), t.getFetch().getSourceWorkerId(), t.getFetch().getSourceAddress());
            case KIND_NOT_SET -> null;
        };
    }

    public static GenerateRequest fromProto(ai.armature.runtime.proto.GenerateRequest p) {
        int[] prompt = new int[p.getPromptTokensCount()];
        for (int i = 0; i < prompt.length; i++) prompt[i] = p.getPromptTokens(i);
        Migration migration = p.hasMigration()
                ? new Migration(p.getMigration().getGeneratedTokens(), p.getMigration().getAttempt(),
                Set.copyOf(p.getMigration().getExcludedWorkerIdsList()))
                : null;
        if (!p.hasSampling() || !p.hasStop()) throw new IllegalArgumentException("a request needs sampling parameters and stop conditions");
        return new GenerateRequest(p.getRequestId(), prompt, fromProto(p.getSampling()), fromProto(p.getStop()), p.getPriority(),
                p.hasCacheSalt() ? p.getCacheSalt() : null, migration,
                p.hasConstraint() ? constraint(p.getConstraint()) : null,
                p.hasKvTransfer() ? fromProto(p.getKvTransfer()) : null);
    }

    private static ai.armature.protocol.OutputConstraint constraint(ai.armature.runtime.proto.OutputConstraint c) {
        var kind = ai.armature.protocol.OutputConstraint.Kind.valueOf(c.getKind());
        var reasoning = c.hasReasoning() ? new ai.armature.protocol.OutputConstraint.Reasoning(c.getReasoning().getOpen(),
                c.getReasoning().getClose(), c.getReasoning().getStarted()) : null;
        return new ai.armature.protocol.OutputConstraint(kind, c.getSpec(), reasoning);
    }

    public static ai.armature.runtime.proto.SamplingParams toProto(SamplingParams s) {
        return ai.armature.runtime.proto.SamplingParams.newBuilder().setTemperature(s.temperature()).setTopP(s.topP())
                .setTopK(s.topK()).setMinP(s.minP()).setRepetitionPenalty(s.repetitionPenalty())
                .setPresencePenalty(s.presencePenalty()).setFrequencyPenalty(s.frequencyPenalty()).setSeed(s.seed())
                .setLogprobs(s.logprobs()).setPromptLogprobs(s.promptLogprobs())
                .addAllLogitBiasTokenIds(java.util.Arrays.stream(s.logitBias().tokenIds()).boxed().toList())
                .addAllLogitBiasValues(floats(s.logitBias().biases())).build();
    }

    private static List<Float> floats(float[] values) {
        List<Float> out = new ArrayList<>(values.length);
        for (float v : values) out.add(v);
        return out;
    }

    public static SamplingParams fromProto(ai.armature.runtime.proto.SamplingParams p) {
        if (p.getLogitBiasTokenIdsCount() != p.getLogitBiasValuesCount()) {
            throw new IllegalArgumentException("logit bias token ids and values differ in length");
        }
        float[] bias = new float[p.getLogitBiasValuesCount()];
        for (int i = 0; i < bias.length; i++) bias[i] = p.getLogitBiasValues(i);
        return new SamplingParams(p.getTemperature(), p.getTopP(), p.getTopK(), p.getMinP(), p.getRepetitionPenalty(),
                p.getPresencePenalty(), p.getFrequencyPenalty(), p.getSeed(), p.getLogprobs(),
                p.hasPromptLogprobs() ? p.getPromptLogprobs() : -1,
                bias.length == 0 ? LogitBias.NONE : new LogitBias(toArray(p.getLogitBiasTokenIdsList()), bias));
    }

    public static ai.armature.runtime.proto.StopConditions toProto(StopConditions s) {
        var b = ai.armature.runtime.proto.StopConditions.newBuilder().setMaxTokens(s.maxTokens()).setIgnoreEos(s.ignoreEos())
                .setIncludeStopToken(s.includeStopToken()).setMinTokens(s.minTokens());
        for (int t : s.stopTokenIds()) b.addStopTokenIds(t);
        return b.build();
    }

    public static StopConditions fromProto(ai.armature.runtime.proto.StopConditions p) {
        return new StopConditions(p.getMaxTokens(), toArray(p.getStopTokenIdsList()), p.getIgnoreEos(), p.getIncludeStopToken(),
                p.getMinTokens());
    }

    // ---- outputs ----

    public static ai.armature.runtime.proto.GenerateOutput toProto(GenerateOutput o) {
        var b = ai.armature.runtime.proto.GenerateOutput.newBuilder().setRequestId(o.requestId());
        if (o.tokenIds() != null) for (int t : o.tokenIds()) b.addTokenIds(t);
        if (o.logprobs() != null) {
            b.setHasLogprobs(true);
            for (TokenLogprob lp : o.logprobs()) b.addLogprobs(toProto(lp));
        }
        if (o.promptLogprobs() != null) {
            b.setHasPromptLogprobs(true);
            for (int i = 1; i < o.promptLogprobs().size(); i++) b.addPromptLogprobs(toProto(o.promptLogprobs().get(i)));
        }
        if (o.finishReason() != null) b.setFinishReason(toProto(o.finishReason()));
        if (o.usage() != null) {
            b.setUsage(ai.armature.runtime.proto.Usage.newBuilder().setPromptTokens(o.usage().promptTokens())
                    .setCachedPromptTokens(o.usage().cachedPromptTokens()).setCompletionTokens(o.usage().completionTokens()));
        }
        if (o.error() != null) b.setError(o.error());
        if (o.errorKind() != null) b.setErrorKind(toProto(o.errorKind()));
        return b.build();
    }

    private static ai.armature.runtime.proto.TokenLogprob toProto(TokenLogprob lp) {
        var l = ai.armature.runtime.proto.TokenLogprob.newBuilder().setTokenId(lp.tokenId()).setLogprob(lp.logprob())
                .setRank(Math.max(0, lp.rank()));
        for (int t : lp.topTokenIds()) l.addTopTokenIds(t);
        for (float f : lp.topLogprobs()) l.addTopLogprobs(f);
        return l.build();
    }

    private static TokenLogprob fromProto(ai.armature.runtime.proto.TokenLogprob l) {
        float[] top = new float[l.getTopLogprobsCount()];
        for (int i = 0; i < top.length; i++) top[i] = l.getTopLogprobs(i);
        if (top.length != l.getTopTokenIdsCount()) throw new IllegalArgumentException("a logprob's top ids and values differ in length");
        return new TokenLogprob(l.getTokenId(), l.getLogprob(), toArray(l.getTopTokenIdsList()), top, l.getRank() == 0 ? -1 : l.getRank());
    }

    public static GenerateOutput fromProto(ai.armature.runtime.proto.GenerateOutput p) {
        List<TokenLogprob> logprobs = null;
        if (p.getHasLogprobs()) {
            logprobs = new ArrayList<>(p.getLogprobsCount());
            for (var l : p.getLogprobsList()) logprobs.add(fromProto(l));
            logprobs = List.copyOf(logprobs);
        }
        List<TokenLogprob> promptLogprobs = null;
        if (p.getHasPromptLogprobs()) {
            List<TokenLogprob> all = new ArrayList<>(p.getPromptLogprobsCount() + 1);
            all.add(null); // the first prompt token has no logprob
            for (var l : p.getPromptLogprobsList()) all.add(fromProto(l));
            promptLogprobs = java.util.Collections.unmodifiableList(all);
        }
        Usage usage = p.hasUsage() ? new Usage(p.getUsage().getPromptTokens(), p.getUsage().getCachedPromptTokens(),
                p.getUsage().getCompletionTokens()) : null;
        return new GenerateOutput(p.getRequestId(), toArray(p.getTokenIdsList()), logprobs, fromProto(p.getFinishReason()), usage,
                p.hasError() ? p.getError() : null, promptLogprobs, fromProto(p.getErrorKind()));
    }

    static ai.armature.runtime.proto.ErrorKind toProto(GenerateOutput.ErrorKind k) {
        return switch (k) {
            case INTERNAL -> ai.armature.runtime.proto.ErrorKind.ERROR_KIND_INTERNAL;
            case UNAVAILABLE -> ai.armature.runtime.proto.ErrorKind.ERROR_KIND_UNAVAILABLE;
            case INVALID -> ai.armature.runtime.proto.ErrorKind.ERROR_KIND_INVALID;
        };
    }

    /** Null when unset (an output that did not fail; on an ERROR output the record reads it as INTERNAL). */
    static GenerateOutput.ErrorKind fromProto(ai.armature.runtime.proto.ErrorKind k) {
        return switch (k) {
            case ERROR_KIND_UNSPECIFIED -> null;
            case ERROR_KIND_INTERNAL -> GenerateOutput.ErrorKind.INTERNAL;
            case ERROR_KIND_UNAVAILABLE -> GenerateOutput.ErrorKind.UNAVAILABLE;
            case ERROR_KIND_INVALID -> GenerateOutput.ErrorKind.INVALID;
            // A kind from a newer peer: unknown here, so an ERROR output reads as INTERNAL.
            case UNRECOGNIZED -> null;
        };
    }

    static ai.armature.runtime.proto.FinishReason toProto(FinishReason r) {
        return switch (r) {
            case STOP -> ai.armature.runtime.proto.FinishReason.FINISH_REASON_STOP;
            case LENGTH -> ai.armature.runtime.proto.FinishReason.FINISH_REASON_LENGTH;
            case CANCELLED -> ai.armature.runtime.proto.FinishReason.FINISH_REASON_CANCELLED;
            case ERROR -> ai.armature.runtime.proto.FinishReason.FINISH_REASON_ERROR;
        };
    }

    static FinishReason fromProto(ai.armature.runtime.proto.FinishReason r) {
        return switch (r) {
            case FINISH_REASON_UNSPECIFIED -> null;
            case FINISH_REASON_STOP -> FinishReason.STOP;
            case FINISH_REASON_LENGTH -> FinishReason.LENGTH;
            case FINISH_REASON_CANCELLED -> FinishReason.CANCELLED;
            case FINISH_REASON_ERROR -> FinishReason.ERROR;
            case UNRECOGNIZED -> throw new IllegalArgumentException("unknown finish reason from a newer peer");
        };
    }

    // ---- stats, snapshots, KV events ----

    public static ai.armature.runtime.proto.EngineStats toProto(EngineStats s) {
        return ai.armature.runtime.proto.EngineStats.newBuilder().setWaitingRequests(s.waitingRequests())
                .setRunningRequests(s.runningRequests()).setKvBlocksTotal(s.kvBlocksTotal()).setKvBlocksUsed(s.kvBlocksUsed())
                .setKvBlocksCached(s.kvBlocksCached()).setPrefixCacheQueryTokens(s.prefixCacheQueryTokens())
                .setPrefixCacheHitTokens(s.prefixCacheHitTokens()).setPendingPrefillTokens(s.pendingPrefillTokens())
                .setLastKvEventId(s.lastKvEventId()).setBusySeconds(s.busySeconds()).setPromptStepSeconds(s.promptStepSeconds())
                .setPromptTokensComputed(s.promptTokensComputed()).build();
    }

    public static EngineStats fromProto(ai.armature.runtime.proto.EngineStats p) {
        return new EngineStats(p.getWaitingRequests(), p.getRunningRequests(), p.getKvBlocksTotal(), p.getKvBlocksUsed(),
                p.getKvBlocksCached(), p.getPrefixCacheQueryTokens(), p.getPrefixCacheHitTokens(), p.getPendingPrefillTokens(),
                p.getLastKvEventId(), p.getBusySeconds(), p.getPromptStepSeconds(), p.getPromptTokensComputed());
    }

    public static ai.armature.runtime.proto.TrafficCounters toProto(TrafficCounters t) {
        var b = ai.armature.runtime.proto.TrafficCounters.newBuilder().setRequests(t.requests()).setPromptTokens(t.promptTokens())
                .setPromptTokensSquared(t.promptTokensSquared()).setFirstTokens(t.firstTokens())
                .setFirstTokenPromptTokens(t.firstTokenPromptTokens()).setCachedPromptTokens(t.cachedPromptTokens())
                .setTtftSeconds(t.ttftSeconds()).setFinished(t.finished()).setFailed(t.failed()).setOutputTokens(t.outputTokens())
                .setOutputTokensSquared(t.outputTokensSquared())
                .setDecodedRequests(t.decodedRequests()).setDecodeIntervals(t.decodeIntervals()).setDecodeSeconds(t.decodeSeconds())
                .setBusySeconds(t.busySeconds()).setPromptStepSeconds(t.promptStepSeconds()).setPromptTokensComputed(t.promptTokensComputed())
                .setMaxPromptTokens(t.maxPromptTokens());
        for (long c : t.ttftHistogram()) b.addTtftHistogram(c);
        for (long c : t.itlHistogram()) b.addItlHistogram(c);
        return b.build();
    }

    /** Refuses histograms with another number of buckets than this version's (a worker of another version). */
    public static TrafficCounters fromProto(ai.armature.runtime.proto.TrafficCounters p) {
        long[] ttft = p.getTtftHistogramList().stream().mapToLong(Long::longValue).toArray();
        long[] itl = p.getItlHistogramList().stream().mapToLong(Long::longValue).toArray();
        return new TrafficCounters(p.getRequests(), p.getPromptTokens(), p.getPromptTokensSquared(), p.getFirstTokens(),
                p.getFirstTokenPromptTokens(), p.getCachedPromptTokens(), p.getTtftSeconds(), ttft, p.getFinished(), p.getFailed(),
                p.getOutputTokens(), p.getOutputTokensSquared(), p.getDecodedRequests(), p.getDecodeIntervals(), p.getDecodeSeconds(), itl,
                p.getBusySeconds(), p.getPromptStepSeconds(), p.getPromptTokensComputed(), p.getMaxPromptTokens());
    }

    public static ai.armature.runtime.proto.KvCacheSnapshot toProto(KvCacheSnapshot s) {
        var b = ai.armature.runtime.proto.KvCacheSnapshot.newBuilder().setLastEventId(s.lastEventId()).setIncomplete(!s.complete());
        for (KvTier tier : KvTier.values()) {
            Set<Long> hashes = s.hashes(tier);
            if (hashes.isEmpty()) continue;
            b.addTiers(TierHashes.newBuilder().setTier(toProto(tier)).addAllHashes(hashes));
        }
        return b.build();
    }

    public static KvCacheSnapshot fromProto(ai.armature.runtime.proto.KvCacheSnapshot p) {
        Map<KvTier, Set<Long>> byTier = new EnumMap<>(KvTier.class);
        for (TierHashes t : p.getTiersList()) byTier.computeIfAbsent(fromProto(t.getTier()), k -> new HashSet<>()).addAll(t.getHashesList());
        return new KvCacheSnapshot(p.getLastEventId(), byTier, !p.getIncomplete());
    }

    public static ai.armature.runtime.proto.KvEvent toProto(KvEvent e) {
        var b = ai.armature.runtime.proto.KvEvent.newBuilder().setEventId(e.eventId());
        switch (e) {
            case KvEvent.BlockStored s -> {
                var st = BlockStored.newBuilder().setBlockHash(s.blockHash()).setParentHash(s.parentHash()).setTier(toProto(s.tier()));
                for (int t : s.tokens()) st.addTokens(t);
                b.setStored(st);
            }
            case KvEvent.BlockRemoved r -> b.setRemoved(BlockRemoved.newBuilder().setBlockHash(r.blockHash()).setTier(toProto(r.tier())));
            case KvEvent.AllBlocksCleared c -> b.setCleared(AllBlocksCleared.getDefaultInstance());
        }
        return b.build();
    }

    public static KvEvent fromProto(ai.armature.runtime.proto.KvEvent p) {
        return switch (p.getKindCase()) {
            case STORED -> {
                int[] tokens = toArray(p.getStored().getTokensList());
                yield new KvEvent.BlockStored(p.getEventId(), p.getStored().getBlockHash(), p.getStored().getParentHash(), tokens.length,
                        tokens, fromProto(p.getStored().getTier()));
            }
            case REMOVED -> new KvEvent.BlockRemoved(p.getEventId(), p.getRemoved().getBlockHash(), fromProto(p.getRemoved().getTier()));
            case CLEARED -> new KvEvent.AllBlocksCleared(p.getEventId());
            case KIND_NOT_SET -> throw new IllegalArgumentException("a KV event without a kind");
        };
    }

    static ai.armature.runtime.proto.KvTier toProto(KvTier t) {
        return switch (t) {
            case DEVICE -> ai.armature.runtime.proto.KvTier.KV_TIER_DEVICE;
            case HOST -> ai.armature.runtime.proto.KvTier.KV_TIER_HOST;
            case DISK -> ai.armature.runtime.proto.KvTier.KV_TIER_DISK;
        };
    }

    static KvTier fromProto(ai.armature.runtime.proto.KvTier t) {
        return switch (t) {
            case KV_TIER_DEVICE -> KvTier.DEVICE;
            case KV_TIER_HOST -> KvTier.HOST;
            case KV_TIER_DISK -> KvTier.DISK;
            case UNRECOGNIZED -> throw new IllegalArgumentException("unknown KV tier from a newer peer");
        };
    }

    // ---- model cards ----

    public static ai.armature.runtime.proto.ModelCard toProto(ModelCard c) {
        return ai.armature.runtime.proto.ModelCard.newBuilder().setWorkerId(c.workerId()).setServedModelName(c.servedModelName())
                .setModelId(c.modelId()).setContextLength(c.contextLength()).setKvBlockSize(c.kvBlockSize()).setRole(c.role())
                .setRequestEndpoint(c.requestEndpoint()).setRequestTls(c.requestTls()).setMetricsEndpoint(c.metricsEndpoint())
                .setTokenizerSha256(c.tokenizerSha256()).setTokenizerBytes(c.tokenizerBytes())
                .setPublishesKvEvents(c.publishesKvEvents()).build();
    }

    public static ModelCard fromProto(ai.armature.runtime.proto.ModelCard p) {
        return new ModelCard(p.getWorkerId(), p.getServedModelName(), p.getModelId(), p.getContextLength(), p.getKvBlockSize(),
                p.getRole(), p.getRequestEndpoint(), p.getRequestTls(), p.getMetricsEndpoint(), p.getTokenizerSha256(),
                p.getTokenizerBytes(), p.getPublishesKvEvents());
    }

    /** A model card as the JSON stored in discovery (readable with {@code etcdctl get}). */
    public static String toJson(ModelCard c) {
        try {
            return JSON.print(toProto(c));
        } catch (InvalidProtocolBufferException e) {
            throw new IllegalStateException(e);
        }
    }

    public static ModelCard cardFromJson(String json) {
        var b = ai.armature.runtime.proto.ModelCard.newBuilder();
        try {
            JSON_PARSER.merge(json, b);
        } catch (InvalidProtocolBufferException e) {
            throw new IllegalArgumentException("not a model card: " + e.getMessage());
        }
        return fromProto(b.build());
    }

    private static int[] toArray(List<Integer> list) {
        int[] a = new int[list.size()];
        for (int i = 0; i < a.length; i++) a[i] = list.get(i);
        return a;
    }
}

package ai.armature.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * G groups of P prompts; the prompts of a group share one long prefix (a "system prompt") followed by a unique
 * question. The G*P prompts are sent in a seeded random order so that groups interleave, as in SGLang's
 * generated-shared-prefix benchmark. A server with prefix caching should compute each group's prefix once.
 */
public final class SharedPrefixWorkload implements Workload {

    private final int groups;
    private final int perGroup;
    private final int prefixLen;
    private final int questionLen;
    private final int osl;
    private final List<RequestSpec> requests;
    private int next;

    public SharedPrefixWorkload(long seed, int groups, int perGroup, int prefixLen, int questionLen, int osl,
                                PromptText text) {
        if (groups < 1 || perGroup < 1 || prefixLen < 1 || questionLen < 1 || osl < 1) {
            throw new IllegalArgumentException("--groups, --prompts-per-group, --prefix-len, --question-len and --osl"
                    + " must all be at least 1");
        }
        this.groups = groups;
        this.perGroup = perGroup;
        this.prefixLen = prefixLen;
        this.questionLen = questionLen;
        this.osl = osl;
        int prefixWords = text.wordsFor(prefixLen);
        int questionWords = Math.max(1, text.wordsForPiece(questionLen));
        List<RequestSpec> all = new ArrayList<>(groups * perGroup);
        for (int g = 0; g < groups; g++) {
            String prefix = PromptText.words(seed, g, prefixWords).substring(1);
            for (int p = 0; p < perGroup; p++) {
                // Question ids live in a range disjoint from the prefix ids.
                long qid = (1L << 40) + (long) g * perGroup + p;
                String prompt = prefix + PromptText.words(seed, qid, questionWords);
                all.add(RequestSpec.completion(prompt, osl, prefixLen + questionLen, "group-" + g + "/" + p));
            }
        }
        SplittableRandom rnd = new SplittableRandom(seed ^ 0x0DDBA11L);
        for (int i = all.size() - 1; i > 0; i--) {
            int j = rnd.nextInt(i + 1);
            RequestSpec t = all.get(i);
            all.set(i, all.get(j));
            all.set(j, t);
        }
        this.requests = all;
    }

    @Override
    public synchronized Conversation next() {
        if (next >= requests.size()) {
            return null;
        }
        return Conversation.single(requests.get(next++), -1);
    }

    @Override
    public Endpoint endpoint() {
        return Endpoint.COMPLETIONS;
    }

    @Override
    public long totalRequests() {
        return requests.size();
    }

    @Override
    public String describe() {
        return "shared-prefix groups=" + groups + " prompts-per-group=" + perGroup + " prefix-len=" + prefixLen
                + " question-len=" + questionLen + " osl=" + osl;
    }
}

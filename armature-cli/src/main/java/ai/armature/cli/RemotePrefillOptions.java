package ai.armature.cli;

import ai.armature.router.policy.RemotePrefillRule;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;

/**
 * When a request's prefill runs on a prefill worker (conditional disaggregation, {@link RemotePrefillRule}); shared
 * by the commands that route over prefill and decode workers ({@code serve}, {@code frontend}).
 */
final class RemotePrefillOptions {

    static final String[] NAMES = {"--max-local-prefill-tokens", "--max-prefill-queue-tokens"};

    @Option(names = "--max-local-prefill-tokens", defaultValue = "" + RemotePrefillRule.DEFAULT_MAX_LOCAL_PREFILL_TOKENS,
            description = {"Disaggregation: a prompt whose tokens not cached on its decode worker exceed this is prefilled on a",
                    "prefill worker; shorter ones are prefilled by the decode worker. Default: ${DEFAULT-VALUE}."})
    int maxLocalPrefillTokens;

    @Option(names = "--max-prefill-queue-tokens", defaultValue = "" + RemotePrefillRule.DEFAULT_MAX_PREFILL_QUEUE_TOKENS,
            description = {"Disaggregation: the prefill queue bound. A prefill worker is used only while the prompt tokens routed",
                    "to it and not yet prefilled are fewer than this; otherwise the decode worker prefills. Default: ${DEFAULT-VALUE}."})
    long maxPrefillQueueTokens;

    RemotePrefillRule rule() {
        return new RemotePrefillRule(maxLocalPrefillTokens, maxPrefillQueueTokens);
    }

    /** Throws if one of these options was given on a command line where {@code why} says they cannot apply. */
    static void refuseUnless(boolean applies, CommandSpec spec, String why) {
        if (applies) return;
        for (String o : NAMES) {
            if (spec.commandLine().getParseResult().hasMatchedOption(o)) throw new IllegalArgumentException(o + " " + why);
        }
    }
}

package ai.armature.cli;

import picocli.CommandLine.Option;

import java.nio.file.Path;

/**
 * The workload options shared by the commands that generate load ({@code bench load}, against a server) and that
 * simulate it ({@code simulate}, in virtual time): the same flags mean the same workload.
 */
final class WorkloadOptions {

    @Option(names = "--isl", defaultValue = "512", description = "Input tokens (synthetic; per user turn in multi-turn).")
    int isl;
    @Option(names = "--osl", defaultValue = "128", description = "Output tokens per request.")
    int osl;
    @Option(names = "--groups", defaultValue = "16", description = "shared-prefix: groups.")
    int groups;
    @Option(names = "--prompts-per-group", defaultValue = "8", description = "shared-prefix: prompts per group.")
    int promptsPerGroup;
    @Option(names = "--prefix-len", defaultValue = "1024", description = "shared-prefix: shared prefix tokens.")
    int prefixLen;
    @Option(names = "--question-len", defaultValue = "64", description = "shared-prefix: unique question tokens.")
    int questionLen;
    @Option(names = "--users", defaultValue = "8", description = "multi-turn: concurrent users.")
    int users;
    @Option(names = "--turns", defaultValue = "5", description = "multi-turn: turns per user.")
    int turns;
    @Option(names = "--think-time", defaultValue = "0s", description = "multi-turn: pause between turns.")
    String thinkTime;
    @Option(names = "--system-prompt-len", defaultValue = "0", description = "multi-turn: shared system prompt tokens.")
    int systemPromptLen;
    @Option(names = "--trace", description = "trace: Mooncake JSONL file.")
    Path trace;
    @Option(names = "--speedup", defaultValue = "1", description = "trace: divide timestamps by this.")
    double speedup;
}

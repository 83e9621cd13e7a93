package ai.armature.cli;

import ai.armature.planner.profile.PerformanceProfile;
import ai.armature.planner.profile.ProfileJson;
import ai.armature.planner.profile.Profiler;
import ai.armature.serving.ServingConfig;
import ai.armature.serving.mock.MockProfile;
import ai.armature.serving.worker.LoadedModel;
import ai.armature.serving.worker.WorkerFactory;
import ai.armature.serving.worker.WorkerFactory.WorkerSpec;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;

/**
 * {@code armature profile}: sweeps one worker (prefill time by input length, decode step time by batch size and
 * context) and writes the {@link PerformanceProfile} the planner sizes pools with. The mocker is profiled on its
 * virtual clock (its formula, exactly, in seconds of CPU); a model runs real steps.
 */
@Command(name = "profile", mixinStandardHelpOptions = true,
        description = {"Profiles one worker's prefill time and inter-token latency for the planner.",
                "Sweeps prefill time by input length and decode step time by batch size and context length, and writes the",
                "curves the planner interpolates (JSON). The mocker is profiled on its virtual clock, exactly; a model runs",
                "real steps. Give the worker options the served workers use."})
final class ProfileCommand implements Callable<Integer> {

    static final class Target {
        @Option(names = "--model", required = true, description = "A GGUF model file (or a directory with one): real steps, wall-clock time.")
        Path model;

        @Option(names = "--mock-profile", required = true,
                description = "Profile the simulated runner: a built-in profile (h100-llama3-8b) with optional key=value overrides.")
        String mockProfile;
    }

    @ArgGroup(exclusive = true, multiplicity = "1")
    Target target;

    @Option(names = "--out", description = "Write the profile here (default: standard output).")
    Path out;

    @Option(names = "--input-lengths", split = ",", description = "Prompt lengths to prefill (default: 16, 24, 32, 48, ... up to the context; 1024 for a model).")
    List<Integer> inputLengths;

    @Option(names = "--batch-sizes", split = ",", description = "Decode batch sizes (default: 1, 2, 4, ... up to --max-seqs; 16 for a model).")
    List<Integer> batchSizes;

    @Option(names = "--context-lengths", split = ",", description = "Decode context lengths, rounded down to whole KV blocks (default: 64, 128, ... up to the context; 1024 for a model).")
    List<Integer> contextLengths;

    @Option(names = "--decode-steps", description = "Decode steps averaged per point (default: 1 virtual, 8 real).")
    Integer decodeSteps;

    @Option(names = "--repeats", description = "Measurements per point, the median is kept (default: 1 virtual, 3 real).")
    Integer repeats;

    @Option(names = "--warmups", description = "Warm-up rounds before measuring (default: 0 virtual, 2 real).")
    Integer warmups;

    @Option(names = "--quiet", description = "No progress lines on standard error.")
    boolean quiet;

    @Mixin
    WorkerOptions workerOptions;

    @Override
    public Integer call() throws Exception {
        ServingConfig config = workerOptions.config(1, ServingConfig.DEFAULT_MAX_QUEUED);
        PrintStream err = System.err;
        if (target.mockProfile != null) {
            Profiler p = Profiler.mock(MockProfile.parse(target.mockProfile), config);
            return run(p, err);
        }
        try (LoadedModel m = LoadedModel.open(target.model)) {
            String name = target.model.getFileName().toString();
            Profiler p = Profiler.realTime(WorkerFactory.runner(WorkerSpec.engine(m, name, config)), config, name);
            return run(p, err);
        }
    }

    private int run(Profiler p, PrintStream err) throws Exception {
        try {
            Profiler.Sweep d = p.defaultSweep();
            Profiler.Sweep sweep = new Profiler.Sweep(ints(inputLengths, d.inputLengths()), ints(batchSizes, d.batchSizes()),
                    ints(contextLengths, d.contextTokens()), decodeSteps != null ? decodeSteps : d.decodeSteps(),
                    repeats != null ? repeats : d.repeats(), warmups != null ? warmups : d.warmups());
            var l = p.limits();
            if (!quiet) {
                err.printf("armature: profiling %s: %d KV tokens, context %d, --max-batched-tokens %d, --max-seqs %d%n",
                        target.mockProfile != null ? "mock:" + target.mockProfile : target.model, l.kvCacheTokens(),
                        l.maxContextTokens(), l.maxBatchedTokens(), l.maxSeqs());
            }
            PerformanceProfile profile = p.run(sweep, line -> {
                if (!quiet) err.println("armature: " + line);
            });
            if (out == null) {
                System.out.print(ProfileJson.toJson(profile));
            } else {
                ProfileJson.write(profile, out);
                if (!quiet) err.println("armature: wrote " + out);
            }
            return 0;
        } finally {
            p.close();
        }
    }

    private static int[] ints(List<Integer> given, int[] fallback) {
        return given == null ? fallback : given.stream().mapToInt(Integer::intValue).toArray();
    }
}

package ai.armature.cli;

import ai.armature.bench.BenchCompare;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

import java.nio.file.Path;
import java.util.concurrent.Callable;

/** {@code armature bench compare A.json B.json}: two load reports side by side with ratios B/A. */
@Command(name = "compare", mixinStandardHelpOptions = true,
        description = "Compare two 'bench load' JSON reports side by side (ratios B/A).")
public final class CompareBenchCommand implements Callable<Integer> {

    @Parameters(index = "0", description = "Report A (the baseline).")
    Path a;
    @Parameters(index = "1", description = "Report B.")
    Path b;

    @Override
    public Integer call() throws Exception {
        System.out.print(BenchCompare.compare(a, b));
        return 0;
    }
}

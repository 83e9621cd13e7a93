package ai.armature.serving.mock;

import ai.armature.engine.grammar.GrammarCompiler;
import ai.armature.engine.grammar.TokenVocabulary;
import ai.armature.engine.model.KvDtype;
import ai.armature.protocol.FinishReason;
import ai.armature.protocol.GenerateOutput;
import ai.armature.protocol.GenerateRequest;
import ai.armature.protocol.GenerationStream;
import ai.armature.protocol.OutputConstraint;
import ai.armature.protocol.SamplingParams;
import ai.armature.protocol.StopConditions;
import ai.armature.protocol.kv.KvEventPublisher;
import ai.armature.serving.ServingConfig;
import ai.armature.serving.ServingEngine;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** The scripted runner through the real scheduler: it emits its script then ends; a constraint still wins. */
class ScriptedModelRunnerTest {

    /** Byte tokens 0..255, end-of-generation 256. */
    static final int EOS = 256;

    static List<Integer> drain(GenerationStream s, FinishReason expected) throws InterruptedException {
        List<Integer> ids = new ArrayList<>();
        GenerateOutput last = null;
        for (GenerateOutput o; (o = s.next()) != null; ) {
            for (int t : o.tokenIds()) ids.add(t);
            last = o;
        }
        assertThat(last.finishReason()).isEqualTo(expected);
        return ids;
    }

    static int[] bytes(String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        int[] ids = new int[b.length];
        for (int i = 0; i < b.length; i++) ids[i] = b[i] & 0xff;
        return ids;
    }

    @Test
    void emitsTheScriptThenEndsAndAConstraintWins() throws Exception {
        String reply = "<tool_call>{\"name\": \"f\", \"arguments\": {}}</tool_call>";
        ScriptedModelRunner runner = new ScriptedModelRunner(257, 4096, new int[] {EOS}, prompt -> bytes(reply));
        byte[][] vocab = new byte[257][];
        for (int i = 0; i < 256; i++) vocab[i] = new byte[] {(byte) i};
        GrammarCompiler grammars = new GrammarCompiler(TokenVocabulary.of(vocab, new int[] {EOS}));
        try (ServingEngine engine = new ServingEngine(runner, new ServingConfig(16, 256, 8, null, 100, KvDtype.F16), KvEventPublisher.NONE, grammars)) {
            GenerateRequest r = new GenerateRequest("a", new int[] {1, 2, 3}, SamplingParams.GREEDY, new StopConditions(500, null, false, false));
            List<Integer> ids = drain(engine.submit(r), FinishReason.STOP);
            StringBuilder text = new StringBuilder();
            for (int id : ids) text.append((char) id);
            assertThat(text.toString()).isEqualTo(reply);
            // Under a json_object constraint the script's '<' is not allowed: the runner takes the lowest allowed byte.
            List<Integer> constrained = drain(engine.submit(new GenerateRequest("b", new int[] {1}, SamplingParams.GREEDY,
                    new StopConditions(40, null, false, false)).withConstraint(OutputConstraint.jsonObject())), FinishReason.LENGTH);
            assertThat(constrained.subList(0, 2)).containsExactly((int) ' ', (int) '{');
        }
    }
}

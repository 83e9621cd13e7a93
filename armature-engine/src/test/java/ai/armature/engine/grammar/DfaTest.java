package ai.armature.engine.grammar;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;

import static org.assertj.core.api.Assertions.assertThat;

/** Set operations on byte automata: the language is right, and no live state is a trap that can never accept. */
class DfaTest {

    private static int walk(Dfa d, String text) {
        int s = 0;
        for (byte b : text.getBytes(StandardCharsets.UTF_8)) {
            s = d.next(s, b & 0xff);
            if (s < 0) return -1;
        }
        return s;
    }

    @Test
    void aDifferenceSendsContinuationsOfExcludedStringsToTheDeadState() {
        Node any = Node.bytes(0, 255);
        Dfa endsWithTag = Dfa.of(Node.seq(Node.star(any), Node.literal("ab")));
        Dfa tagEarlier = Dfa.of(Node.seq(Node.star(any), Node.literal("ab"), Node.repeat(any, 1, -1)));
        Dfa firstTagAtEnd = endsWithTag.minus(tagEarlier);
        assertThat(firstTagAtEnd.accepts("xxab".getBytes(StandardCharsets.UTF_8))).isTrue();
        assertThat(firstTagAtEnd.accepts("abab".getBytes(StandardCharsets.UTF_8))).isFalse();
        assertThat(walk(firstTagAtEnd, "xxa")).isNotNegative();
        assertThat(walk(firstTagAtEnd, "xxab")).isNotNegative();
        // Without trimming this state is live but can never accept again.
        assertThat(walk(firstTagAtEnd, "xxabx")).isEqualTo(-1);

        Dfa keys = Dfa.of(Node.seq(Node.literal("\""), Node.star(Node.bytes('a', 'z')), Node.literal("\"")))
                .minus(Dfa.of(Node.literal("\"id\"")));
        assertThat(walk(keys, "\"id")).isNotNegative(); // "idx" is still possible
        assertThat(walk(keys, "\"id\"")).isEqualTo(-1);
        assertThat(keys.accepts("\"idx\"".getBytes(StandardCharsets.UTF_8))).isTrue();
    }
}

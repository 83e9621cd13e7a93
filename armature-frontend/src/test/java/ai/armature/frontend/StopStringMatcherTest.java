package ai.armature.frontend;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class StopStringMatcherTest {

    private static String feed(StopStringMatcher m, String... pieces) {
        StringBuilder out = new StringBuilder();
        for (String p : pieces) out.append(m.accept(p));
        return out.append(m.finish()).toString();
    }

    @Test
    void findsStopSplitAcrossPiecesAndDropsIt() {
        StopStringMatcher m = new StopStringMatcher(List.of("STOP"));
        assertThat(m.accept("abc S")).isEqualTo("abc ");
        assertThat(m.accept("T")).isEmpty();
        assertThat(m.accept("OP and more")).isEmpty();
        assertThat(m.stopped()).isTrue();
        assertThat(m.accept("x")).isEmpty();
        assertThat(m.finish()).isEmpty();
    }

    @Test
    void releasesHeldTextOnceItCannotMatch() {
        StopStringMatcher m = new StopStringMatcher(List.of("abd"));
        assertThat(m.accept("xab")).isEqualTo("x");
        assertThat(m.accept("c")).isEqualTo("abc");
        assertThat(feed(new StopStringMatcher(List.of("abd")), "a", "b", "a", "b", "d")).isEqualTo("ab");
        assertThat(feed(new StopStringMatcher(List.of("zz")), "tail z")).isEqualTo("tail z");
    }

    @Test
    void earliestOfSeveralStopsWins() {
        assertThat(feed(new StopStringMatcher(List.of("world", "lo w")), "hello world")).isEqualTo("hel");
        assertThat(feed(new StopStringMatcher(List.of("\n\n", "END")), "line\n", "\nEND")).isEqualTo("line");
    }
}

package ai.armature.architecture;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.library.Architectures;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

import static com.tngtech.archunit.base.DescribedPredicate.not;
import static com.tngtech.archunit.core.domain.JavaClass.Predicates.resideInAPackage;
import static com.tngtech.archunit.core.domain.JavaClass.Predicates.resideInAnyPackage;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The module arrows of {@code ../shared/ARCHITECTURE.md}, enforced on the compiled code of every module (main code
 * only): module {@code ai.armature.X} may use the modules it depends on and what they depend on, nothing else; and
 * the frontend uses the engine only through its tokenizer and chat-template packages. Modules that do not exist
 * yet (simulator, upstream, planner) are covered the day their first class appears. The table below mirrors the
 * map; when the map is present its table is checked against this one, so the two cannot drift apart.
 */
class ModuleArchitectureTest {

    /** Module (package under {@code ai.armature}) to the modules it depends on directly, as in the map. */
    static final Map<String, Set<String>> ARROWS = new LinkedHashMap<>();

    static {
        ARROWS.put("protocol", Set.of());
        ARROWS.put("engine", Set.of("protocol"));
        ARROWS.put("serving", Set.of("protocol", "engine"));
        ARROWS.put("runtime", Set.of("protocol"));
        ARROWS.put("router", Set.of("protocol", "runtime"));
        ARROWS.put("frontend", Set.of("protocol", "engine", "runtime", "router"));
        ARROWS.put("planner", Set.of("protocol", "runtime"));
        ARROWS.put("upstream", Set.of("protocol", "runtime"));
        ARROWS.put("sim", Set.of("protocol", "serving", "router", "planner"));
        ARROWS.put("bench", Set.of("protocol"));
        ARROWS.put("cli", Set.of("protocol", "engine", "serving", "runtime", "router", "frontend", "planner", "upstream",
                "sim", "bench"));
    }

    /**
     * Known departures from the map, each as narrow as it can be, to be removed when the code moves: the planner's
     * profiler (issue 17) runs a real worker (serving's EngineCore) to measure it, though the map gives the planner
     * only protocol and runtime. Profiling a worker belongs where workers are built (serving or the CLI), with the
     * planner reading the profile it writes. The simulator (issue 12) reads Mooncake traces and summarises latencies
     * with the load generator's classes, though the map gives it no arrow to bench: either the map gains that arrow or
     * the trace reader and the statistics move where both may use them.
     */
    static final String[][] KNOWN_EXCEPTIONS = {
            {"ai\\.armature\\.planner\\.profile\\.Profiler(\\$.*)?", "ai.armature.serving.."},
            {"ai\\.armature\\.sim\\..*", "ai.armature.bench.."},
    };

    /** The engine packages the frontend may use (tokenizers and chat templates only, as the map says). */
    static final List<String> FRONTEND_ENGINE_PACKAGES = List.of("ai.armature.engine.tokenizer..", "ai.armature.engine.chat..");

    private static JavaClasses classes;

    @BeforeAll
    static void importClasses() {
        classes = new ClassFileImporter().withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS).importPackages("ai.armature");
    }

    @Test
    void everyModuleUsesOnlyTheModulesItDependsOn() {
        Architectures.LayeredArchitecture layers = Architectures.layeredArchitecture().consideringOnlyDependenciesInLayers()
                .withOptionalLayers(true);
        for (String module : ARROWS.keySet()) layers = layers.layer(module).definedBy("ai.armature." + module + "..");
        for (String[] e : KNOWN_EXCEPTIONS) {
            layers = layers.ignoreDependency(com.tngtech.archunit.core.domain.properties.HasName.Predicates.nameMatching(e[0]), resideInAPackage(e[1]));
        }
        for (String module : ARROWS.keySet()) {
            Set<String> allowed = closure(module);
            layers = allowed.isEmpty() ? layers.whereLayer(module).mayNotAccessAnyLayer()
                    : layers.whereLayer(module).mayOnlyAccessLayers(allowed.toArray(String[]::new));
        }
        layers.check(classes);
    }

    @Test
    void theFrontendUsesTheEngineOnlyForTokenizersAndChatTemplates() {
        noClasses().that().resideInAPackage("ai.armature.frontend..")
                .should().dependOnClassesThat(resideInAPackage("ai.armature.engine..")
                        .and(not(resideInAnyPackage(FRONTEND_ENGINE_PACKAGES.toArray(String[]::new)))))
                .because("the frontend turns text into tokens and back; models, kernels and samplers are the workers'")
                .check(classes);
    }

    @Test
    void everyPackageBelongsToAModuleOfTheMap() {
        Set<String> unknown = new TreeSet<>();
        for (var c : classes) {
            String pkg = c.getPackageName();
            if (!pkg.startsWith("ai.armature.")) continue;
            String module = pkg.substring("ai.armature.".length()).split("\\.")[0];
            if (!ARROWS.containsKey(module) && !module.equals("architecture")) unknown.add(module);
        }
        assertThat(unknown).as("modules missing from ARCHITECTURE.md's table (add their arrows here and there)").isEmpty();
    }

    @Test
    void theTableMatchesTheMap() throws IOException {
        Path map = null;
        for (Path p = Path.of("").toAbsolutePath(); p != null && map == null; p = p.getParent()) {
            for (Path c : new Path[] {p.resolve("shared/ARCHITECTURE.md"), p.resolveSibling("shared/ARCHITECTURE.md")}) {
                if (Files.exists(c)) map = c;
            }
        }
        Assumptions.assumeTrue(map != null, "../shared/ARCHITECTURE.md is absent: the table is not compared with the map");
        Map<String, Set<String>> documented = new TreeMap<>();
        for (String line : Files.readAllLines(map)) {
            if (!line.startsWith("| `armature-")) continue;
            String[] cells = line.split("\\|");
            String module = cells[1].trim().replace("`", "").substring("armature-".length());
            String deps = cells[cells.length - 1].trim();
            Set<String> set = new TreeSet<>();
            if (deps.equals("all")) {
                set.addAll(ARROWS.keySet());
                set.remove(module);
            } else if (!deps.equals("nothing")) {
                for (String d : deps.replaceAll("\\([^)]*\\)", "").split(",")) set.add(d.trim());
            }
            documented.put(module, set);
        }
        Map<String, Set<String>> ours = new TreeMap<>();
        ARROWS.forEach((k, v) -> ours.put(k, new TreeSet<>(v)));
        assertThat(ours).isEqualTo(documented);
    }

    /** The modules {@code module} may use: its dependencies and, transitively, theirs. */
    static Set<String> closure(String module) {
        Set<String> out = new LinkedHashSet<>();
        Deque<String> todo = new ArrayDeque<>(ARROWS.get(module));
        while (!todo.isEmpty()) {
            String m = todo.pop();
            if (out.add(m)) todo.addAll(ARROWS.get(m));
        }
        return out;
    }
}

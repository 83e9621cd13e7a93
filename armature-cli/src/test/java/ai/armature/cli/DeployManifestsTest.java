package ai.armature.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.InputStream;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import ai.armature.planner.connector.KubernetesConnector;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServiceAccount;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.rbac.PolicyRule;
import io.fabric8.kubernetes.api.model.rbac.Role;
import io.fabric8.kubernetes.api.model.rbac.RoleBinding;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import picocli.CommandLine;

/**
 * The manifests under {@code deploy/kubernetes/} parse as Kubernetes objects and agree with each other and with the
 * CLI: every armature container's arguments are options its subcommand accepts, the planner scales Deployments that
 * exist and run workers of its model, pool (role) and profile, the URLs point at Services that exist, workers get longer
 * to stop than they take to drain, and the planners' Role allows what their connector does.
 */
class DeployManifestsTest {

    static final Path DIR = Path.of("..", "deploy", "kubernetes");
    static final List<HasMetadata> objects = new ArrayList<>();

    @BeforeAll
    static void load() throws Exception {
        try (KubernetesClient client = new KubernetesClientBuilder().build(); Stream<Path> files = Files.list(DIR)) {
            for (Path f : files.filter(p -> p.toString().endsWith(".yaml")).sorted().toList()) {
                try (InputStream in = Files.newInputStream(f)) {
                    List<HasMetadata> items = client.load(in).items();
                    assertThat(items).as(f.toString()).isNotEmpty();
                    objects.addAll(items);
                }
            }
        }
    }

    static <T extends HasMetadata> List<T> all(Class<T> kind) {
        return objects.stream().filter(kind::isInstance).map(kind::cast).toList();
    }

    static <T extends HasMetadata> T named(Class<T> kind, String name) {
        return all(kind).stream().filter(o -> o.getMetadata().getName().equals(name)).findFirst()
                .orElseThrow(() -> new AssertionError("no " + kind.getSimpleName() + " named " + name + " in " + DIR));
    }

    /** The armature container of a Deployment and its parsed command line. */
    record Armature(Container container, CommandLine.ParseResult parsed) {
        String option(String name) {
            CommandLine.ParseResult sub = parsed.subcommand();
            if (!sub.hasMatchedOption(name)) return null;
            Object value = sub.matchedOption(name).getValue();
            return String.valueOf(value);
        }

        /** The option's converted value (a Duration, a Map, ...). */
        Object value(String name) {
            return parsed.subcommand().matchedOption(name).getValue();
        }

        String command() {
            return parsed.subcommand().commandSpec().name();
        }
    }

    static Armature armature(Deployment d) {
        Container c = d.getSpec().getTemplate().getSpec().getContainers().stream().filter(x -> x.getImage().startsWith("armature:")).findFirst()
                .orElseThrow(() -> new AssertionError(d.getMetadata().getName() + " runs no armature container"));
        // Parsing fails on an option the subcommand does not have, or a value it cannot convert.
        return new Armature(c, ArmatureCli.commandLine().parseArgs(c.getArgs().toArray(String[]::new)));
    }

    static Map<String, Armature> armatureDeployments() {
        Map<String, Armature> byCommand = new HashMap<>();
        for (Deployment d : all(Deployment.class)) {
            if (d.getSpec().getTemplate().getSpec().getContainers().stream().noneMatch(x -> x.getImage().startsWith("armature:"))) continue;
            Armature a = armature(d);
            byCommand.put(a.command() + ":" + d.getMetadata().getName(), a);
        }
        return byCommand;
    }

    /**
     * The image and the {@code ./armature} launcher run with the JVM flags the tests run with (surefire's argLine is
     * the root pom's armature.jvm.flags): a flag the engine needs for its speed, such as PerMethodTrapLimit, must not
     * be missing in production.
     */
    @Test
    void theImageAndTheLauncherRunWithTheJvmFlagsTheTestsRunWith() throws Exception {
        String dockerfile = Files.readString(Path.of("..", "deploy", "Dockerfile"));
        String script = Files.readString(Path.of("..", "armature"));
        int exec = script.indexOf("exec \"$JAVA_HOME/bin/java\"");
        assertThat(exec).as("./armature's java line").isNotNegative();
        String launcher = script.substring(exec, script.indexOf("ArmatureCli", exec)); // not its comments
        List<String> flags = java.lang.management.ManagementFactory.getRuntimeMXBean().getInputArguments().stream()
                .filter(f -> f.startsWith("--") || f.startsWith("-XX:")).toList();
        assertThat(flags).contains("-XX:PerMethodTrapLimit=10000", "--add-modules=jdk.incubator.vector");
        for (String f : flags) {
            // The JVM reports "--add-modules X" as "--add-modules=X"; the Dockerfile writes them as two arguments.
            String quoted = f.startsWith("--add-modules=") ? "\"--add-modules\", \"" + f.substring(14) + "\"" : "\"" + f + "\"";
            assertThat(dockerfile).as("deploy/Dockerfile's ENTRYPOINT has " + f).contains(quoted);
            assertThat(launcher).as("./armature's java line has " + f).contains(f.replaceFirst("^--add-modules=", "--add-modules "));
        }
    }

    @Test
    void everyObjectIsInTheNamespaceAndEveryDeploymentSelectsItsPods() {
        assertThat(all(io.fabric8.kubernetes.api.model.Namespace.class)).extracting(n -> n.getMetadata().getName()).containsExactly("armature");
        for (HasMetadata o : objects) {
            if (o instanceof io.fabric8.kubernetes.api.model.Namespace) continue;
            assertThat(o.getMetadata().getNamespace()).as(o.getKind() + " " + o.getMetadata().getName()).isEqualTo("armature");
        }
        for (Deployment d : all(Deployment.class)) {
            Map<String, String> labels = d.getSpec().getTemplate().getMetadata().getLabels();
            assertThat(labels).as(d.getMetadata().getName()).containsAllEntriesOf(d.getSpec().getSelector().getMatchLabels());
        }
        for (Service s : all(Service.class)) {
            assertThat(all(Deployment.class)).as("a Deployment behind Service " + s.getMetadata().getName()).anyMatch(d ->
                    d.getSpec().getTemplate().getMetadata().getLabels().entrySet().containsAll(s.getSpec().getSelector().entrySet()));
        }
    }

    @Test
    void armatureArgumentsAreTheCliOptionsAndPointAtServicesThatExist() {
        Map<String, Armature> deployments = armatureDeployments();
        assertThat(deployments.keySet()).contains("frontend:armature-frontend", "worker:armature-worker", "planner:armature-planner");
        for (Armature a : deployments.values()) {
            for (String plane : new String[] {"--discovery", "--events"}) {
                URI url = URI.create(a.option(plane));
                String service = url.getHost().split("\\.")[0];
                Service s = named(Service.class, service);
                assertThat(s.getSpec().getPorts()).as(a.command() + " " + plane).anyMatch(p -> p.getPort() == url.getPort());
            }
        }
        Armature frontend = deployments.get("frontend:armature-frontend");
        assertThat(named(Service.class, "armature-frontend").getSpec().getPorts().getFirst().getTargetPort().getIntVal())
                .isEqualTo(Integer.parseInt(frontend.option("--port")));
    }

    @Test
    void thePlannersScaleWorkersOfTheirModelPoolAndProfileThatDrainInTime() {
        Map<String, Armature> deployments = armatureDeployments();
        List<Armature> planners = deployments.entrySet().stream().filter(e -> e.getKey().startsWith("planner:")).map(Map.Entry::getValue).toList();
        assertThat(deployments.keySet()).contains("planner:armature-planner", "planner:armature-planner-disaggregated",
                "worker:armature-worker-prefill", "worker:armature-worker-decode");
        Map<String, String> scaledBy = new HashMap<>();
        List<String> models = new ArrayList<>();
        for (Armature planner : planners) {
            String model = planner.option("--served-model-name");
            models.add(model);
            assertThat(planner.option("--connector")).isEqualTo("kubernetes");
            @SuppressWarnings("unchecked")
            Map<String, String> targets = (Map<String, String>) planner.value("--deployment");
            @SuppressWarnings("unchecked")
            List<String> pools = planner.parsed().subcommand().hasMatchedOption("--pools") ? (List<String>) planner.value("--pools") : List.of("aggregated");
            assertThat(targets.keySet()).as(model + ": a Deployment per pool it sizes").containsExactlyInAnyOrderElementsOf(pools);
            for (var t : targets.entrySet()) {
                String pool = t.getKey();
                assertThat(scaledBy.put(t.getValue(), model)).as(t.getValue() + " is scaled by one planner").isNull();
                Deployment workers = named(Deployment.class, t.getValue());
                Armature worker = armature(workers);
                assertThat(worker.command()).isEqualTo("worker");
                String role = worker.option("--role");
                assertThat(role == null || role.equals("both") ? "aggregated" : role).as(t.getValue() + "'s workers are of the pool it scales")
                        .isEqualTo(pool);
                assertThat(workers.getMetadata().getLabels()).containsEntry("armature.ai/pool", pool);
                assertThat(worker.option("--served-model-name")).isEqualTo(model);
                assertThat(planner.option("--profile")).isEqualTo("mock:" + worker.option("--mock-profile"));
                assertThat(worker.option("--worker-id")).as("the planner marks pods by the id workers register under").isEqualTo("$(POD_NAME)");
                assertThat(workers.getSpec().getTemplate().getSpec().getContainers().getFirst().getEnv())
                        .anyMatch(e -> e.getName().equals("POD_NAME") && e.getValueFrom().getFieldRef().getFieldPath().equals("metadata.name"));
                if (!pool.equals("aggregated")) {
                    // Decode workers fetch KV from prefill workers at the address they register: the pod's own.
                    assertThat(worker.option("--host")).isEqualTo("$(POD_IP)");
                    assertThat(workers.getSpec().getTemplate().getSpec().getContainers().getFirst().getEnv())
                            .anyMatch(e -> e.getName().equals("POD_IP") && e.getValueFrom().getFieldRef().getFieldPath().equals("status.podIP"));
                }
                Duration drain = (Duration) worker.value("--drain-timeout");
                assertThat((long) workers.getSpec().getTemplate().getSpec().getTerminationGracePeriodSeconds())
                        .as("SIGKILL must not come before the drain ends").isGreaterThan(drain.toSeconds());
                assertThat(planner.option("--kube-namespace")).isEqualTo(workers.getMetadata().getNamespace());
            }
        }
        assertThat(models).as("one planner per model").doesNotHaveDuplicates();
        // Every worker Deployment is some planner's.
        for (String key : deployments.keySet()) {
            if (key.startsWith("worker:")) assertThat(scaledBy).as(key).containsKey(key.substring("worker:".length()));
        }
    }

    @Test
    void thePlannersRoleAllowsWhatItsConnectorDoes() {
        for (String name : List.of("armature-planner", "armature-planner-disaggregated")) assertRoleAllowsScaling(named(Deployment.class, name));
    }

    static void assertRoleAllowsScaling(Deployment planner) {
        String account = planner.getSpec().getTemplate().getSpec().getServiceAccountName();
        named(ServiceAccount.class, account);
        RoleBinding binding = all(RoleBinding.class).stream().filter(b -> b.getSubjects().stream().anyMatch(s -> s.getName().equals(account)))
                .findFirst().orElseThrow();
        Role role = named(Role.class, binding.getRoleRef().getName());
        assertThat(allows(role.getRules(), "apps", "deployments", "get")).isTrue();
        assertThat(allows(role.getRules(), "apps", "deployments/scale", "update")).isTrue();
        assertThat(allows(role.getRules(), "", "pods", "patch")).as("to set " + KubernetesConnector.DELETION_COST).isTrue();
        assertThat(allows(role.getRules(), "", "pods", "watch")).as("to see pods go").isTrue();
    }

    static boolean allows(List<PolicyRule> rules, String group, String resource, String verb) {
        return rules.stream().anyMatch(r -> r.getApiGroups().contains(group) && r.getResources().contains(resource) && r.getVerbs().contains(verb));
    }
}
